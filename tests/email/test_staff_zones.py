"""Staff e-mails show times the one short way with the zone named: a team's mail in the team's zone, a person's
mail in the zone that person chose."""

from __future__ import annotations

import re

from hub.accounts.models import Role
from hub.alerts.digests import send_digest
from jobs.dispatch import run_dispatch
from tests.alerts.support import scan
from tests.factories import make_return, make_user, utc

ESCALATE = utc(2026, 3, 9, 9)  # a return received Thu 5 Mar 10:00 Amsterdam escalates Monday 10:00 Amsterdam


def test_an_escalation_shows_its_times_in_each_recipients_zone(session, workflow, now, runtime, mail_runtime, smtp):
    make_user(session, team="warehouse", role=Role.LEAD, email="ny.lead@shop.example", time_zone="America/New_York")
    make_user(session, team="warehouse", role=Role.LEAD, email="home.lead@shop.example")
    make_user(session, team="warehouse", role=Role.LEAD, email="delhi.lead@shop.example", time_zone="Asia/Kolkata")
    make_return(session, workflow, stage="received", now=now)
    session.commit()
    scan(runtime, ESCALATE)
    mail_runtime.clock = runtime.clock
    run_dispatch(mail_runtime)

    def due_line(address: str) -> str:
        (mail,) = smtp.to(address)
        match = re.search(r"^Stage due: (.*)$", mail.part("plain"), re.M)
        assert match, mail.part("plain")
        return match.group(1)

    assert due_line("warehouse@shop.example") == "Fri 6 Mar 10:00 CET"  # the team's zone
    assert due_line("home.lead@shop.example") == "Fri 6 Mar 10:00 CET"  # no zone of their own: the team's
    assert due_line("ny.lead@shop.example") == "Fri 6 Mar 04:00 EST"
    assert due_line("delhi.lead@shop.example") == "Fri 6 Mar 14:30 Asia/Kolkata"  # "IST" would be ambiguous


def test_a_digest_gives_its_day_the_one_short_way(session, session_factory, workflow, now, runtime, mail_runtime, smtp):
    make_return(session, workflow, stage="received", now=now)
    session.commit()
    with session_factory.begin() as s:
        assert send_digest(s, workflow, workflow.teams["warehouse"], now, force=True)
    mail_runtime.clock = lambda: now
    run_dispatch(mail_runtime)
    (mail,) = smtp.to("warehouse@shop.example")
    assert "1 return(s) are open in your stages today (5 Mar 2026)." in mail.part("plain")
    assert re.search(r"due Fri 6 Mar 10:00 CET", mail.part("plain"))
