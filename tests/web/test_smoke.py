"""A first walk through the web app: log in, see the board, move a card."""

from __future__ import annotations

from hub.accounts.models import Role
from tests.factories import make_return, make_user
from tests.web.support import login


def test_board_shows_a_return_and_a_move_from_the_board_returns_the_card(client, session, workflow):
    user = make_user(session, team="customer_service", role=Role.MEMBER)
    r = make_return(session, workflow)
    session.commit()
    token = login(client, user.email)
    html = client.get("/board").get_data(as_text=True)
    assert f'id="card-{r.rma}"' in html
    resp = client.post(
        f"/returns/{r.rma}/move",
        data={"to_stage": "approved", "version": r.version, "view": "card"},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_data(as_text=True)
    assert 'data-stage="approved"' in body
    assert 'id="head-approved" hx-swap-oob="true"' in body
