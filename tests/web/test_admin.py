"""The outbox's admin page (/admin/notifications): leads and admins only, behind the login.

(A lead retrying a dead notification, end to end with the dispatcher: tests/jobs/test_dispatch.py.)
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.core.db import unit_of_work
from hub.notifications.models import Notification, NotificationStatus
from tests.factories import make_return, make_user, move
from tests.web.support import csrf_token, login


@pytest.mark.parametrize("method", ["get", "post"])
def test_members_may_not_see_or_retry_notifications(session, session_factory, workflow, clock, client, method):
    member = make_user(session, team="logistics", email="member@shop.example")
    r = make_return(session, workflow, now=clock())
    session.commit()
    move(session_factory, workflow, r.rma, "approved", now=clock())
    with unit_of_work(session_factory) as s:
        n = s.scalars(select(Notification).where(Notification.channel == "email")).first()
        n.status, n.attempts, n.last_error = NotificationStatus.DEAD, 8, "it failed"
        notification_id = n.id
    token = login(client, member.email)

    if method == "get":
        resp = client.get("/admin/notifications")
    else:
        resp = client.post(f"/admin/notifications/{notification_id}/retry", data={"csrf_token": token})

    assert resp.status_code == 403
    assert "it failed" not in resp.get_data(as_text=True)
    with session_factory() as s:
        assert s.get(Notification, notification_id).status is NotificationStatus.DEAD


def test_the_admin_pages_need_a_login(client):
    resp = client.get("/admin/notifications")
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]
    resp = client.post("/admin/notifications/1/retry", data={"csrf_token": csrf_token(client)})
    assert resp.status_code == 302
    assert "/login" in resp.headers["Location"]
