"""Times in each user's own zone (their setting, else their team's), one short format, the zone named where a
time could be misread; the "Your settings" page where a user picks their zone; a conflict worded in their zone."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from hub.accounts.models import User
from hub.returns import services as svc
from hub.returns.models import Channel
from hub.returns.permissions import Actor
from tests.factories import make_return, make_user
from tests.web.support import hx, login_as, page

pytestmark = pytest.mark.usefixtures("frozen_clock")  # now: Thu 5 Mar 2026 09:00 UTC (10:00 in Amsterdam)


def _card_since(client, rma: str) -> str:
    card = page(client.get("/board")).by_id(f"card-{rma}")
    return card.find("span", cls="age").attrs["title"]


def _facts(client, rma: str) -> dict[str, str]:
    dl = page(client.get(f"/returns/{rma}")).find(cls="facts").find("dl")
    terms = [n.text for n in dl.find_all("dt")]
    return dict(zip(terms, [n.text for n in dl.find_all("dd")], strict=True))


def _zone_of(session, email: str) -> str | None:
    session.expire_all()
    zone = session.scalar(select(User.time_zone).where(User.email == email))
    session.commit()
    return zone


def test_a_user_in_new_york_sees_a_cards_time_in_new_york_time(client, session, workflow, now):
    r = make_return(session, workflow, now=now)
    login_as(client, session, team="customer_service", time_zone="America/New_York")
    assert _card_since(client, r.rma) == "In “New request” since Thu 5 Mar 04:00"


def test_a_user_without_a_zone_sees_their_teams_zone(client, session, workflow, now):
    r = make_return(session, workflow, now=now)
    login_as(client, session, team="customer_service")
    assert _card_since(client, r.rma) == "In “New request” since Thu 5 Mar 10:00"


def test_the_detail_names_the_zone_and_shows_dates_the_one_way(client, session, workflow, now):
    r = make_return(session, workflow, now=now, delivered_on=date(2026, 3, 2))
    login_as(client, session, team="customer_service", time_zone="America/New_York")
    facts = _facts(client, r.rma)
    assert facts["Opened"] == "Thu 5 Mar 04:00 EST"
    assert facts["In this stage"] == "0m since Thu 5 Mar 04:00 EST"
    assert facts["Promised by"] == "19 Mar 2026"
    assert facts["Delivered on"].startswith("2 Mar 2026 · return window")
    timeline = page(client.get(f"/returns/{r.rma}")).find("ol", cls="timeline")
    assert timeline.find("time").text == "Thu 5 Mar 04:00"
    assert "Times in EST." in page(client.get(f"/returns/{r.rma}")).text


def test_a_zone_whose_abbreviation_means_several_offsets_is_named_by_its_iana_name(client, session, workflow, now):
    r = make_return(session, workflow, now=now)
    login_as(client, session, team="customer_service", time_zone="Asia/Kolkata")
    assert _facts(client, r.rma)["Opened"] == "Thu 5 Mar 14:30 Asia/Kolkata"  # "IST" is also Ireland's and Israel's


# --- the settings page -------------------------------------------------------------------------------


def test_the_settings_page_offers_every_zone_with_the_teams_as_the_default(client, session):
    login_as(client, session, team="logistics")
    tree = page(client.get("/account"))
    assert tree.find("h1").text == "Your settings"
    options = tree.by_id("time_zone").find_all("option")
    assert options[0].attrs["value"] == ""
    assert options[0].text == "Europe/Amsterdam (team default)"
    assert "selected" in options[0].attrs
    values = [o.attrs["value"] for o in options]
    assert {"America/New_York", "Asia/Kolkata", "UTC"} <= set(values)
    assert len(values) > 300
    assert tree.find("a", cls="who-settings").attrs["aria-current"] == "page"  # linked from the top bar


def test_choosing_a_zone_on_the_settings_page_changes_the_times_shown(client, session, workflow, now):
    rma = make_return(session, workflow, now=now).rma
    _, token = login_as(client, session, team="customer_service", email="ann@shop.example")
    resp = client.post("/account", data={"csrf_token": token, "time_zone": "America/New_York"})
    assert resp.status_code == 302
    assert _zone_of(session, "ann@shop.example") == "America/New_York"
    tree = page(client.get(resp.headers["Location"]))
    assert tree.find(cls="toast").text == "Saved: times are shown in America/New_York."
    assert tree.by_id("time_zone").find("option", value="America/New_York").attrs.get("selected") is not None
    assert _card_since(client, rma) == "In “New request” since Thu 5 Mar 04:00"

    resp = client.post("/account", data={"csrf_token": token, "time_zone": ""})  # back to the team's
    assert resp.status_code == 302
    assert _zone_of(session, "ann@shop.example") is None
    assert page(client.get("/account")).find(cls="toast").text == (
        "Saved: times are shown in Europe/Amsterdam (your team's)."
    )


@pytest.mark.parametrize("bad", ["Mars/Olympus_Mons", "europe/amsterdam", "<script>", "../etc/passwd"])
def test_a_zone_that_does_not_exist_is_refused_naming_the_field_and_changes_nothing(client, session, bad):
    _, token = login_as(client, session, team="customer_service", email="ann@shop.example", time_zone="Asia/Tokyo")
    resp = client.post("/account", data={"csrf_token": token, "time_zone": bad})
    assert resp.status_code == 422
    tree = page(resp)
    assert tree.by_id("e-time_zone").text == (
        f"Time zone: expected a time zone name like Europe/Amsterdam, got {bad!r}"
    )
    assert tree.by_id("time_zone").attrs["aria-invalid"] == "true"
    assert "<script>" not in resp.get_data(as_text=True)
    assert _zone_of(session, "ann@shop.example") == "Asia/Tokyo"


# --- a conflict, worded in the reader's zone --------------------------------------------------------


def test_a_conflict_names_the_time_in_the_users_zone_and_says_the_panel_shows_the_change(
    client, session, workflow, now
):
    r = make_return(session, workflow, now=now)
    bob = make_user(session, name="Bob Smith")
    _, token = login_as(client, session, team="customer_service", time_zone="America/New_York")
    loaded = page(client.get(f"/returns/{r.rma}", headers=hx())).by_id("detail").attrs["data-version"]
    svc.claim_return(session, workflow, Actor.person(bob, Channel.SLACK), r.rma, now=now)
    session.commit()
    resp = client.post(f"/returns/{r.rma}/claim", data={"version": loaded}, headers=hx(token))
    assert resp.status_code == 409
    assert page(resp).find(cls="notice").text == (
        f"{r.rma} was changed by Bob Smith (claimed, Thu 5 Mar 04:00 EST) after you opened it; nothing was changed. "
        "The panel now shows the change; check it and try again."
    )
    # without htmx the answer is the whole page, which shows the change too
    resp = client.post(f"/returns/{r.rma}/claim", data={"version": loaded, "csrf_token": token})
    assert resp.status_code == 409
    assert page(resp).find(cls="notice").text.endswith("The page now shows the change; check it and try again.")
