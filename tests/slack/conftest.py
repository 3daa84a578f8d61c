"""The Slack app under test: a local server playing Slack's Web API, the app wired to it, users linked to Slack.

Signed requests and the readers are in tests/slack/support.py. The hub runs on `clock` (tests/conftest.py),
moved by hand; Slack's signatures use real time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from hub.accounts.models import Role
from hub.core.runtime import Runtime
from hub.returns.models import Return
from hub.workflow import Workflow
from integrations.slack.context import SlackContext
from tests.factories import Clock, make_return, make_user
from tests.slack.fake_api import FakeSlackApi
from tests.slack.support import BASE_URL, CHANNELS, SECRET, TOKEN, People, SlackRequests


@pytest.fixture
def slack_api() -> Iterator[FakeSlackApi]:
    """Slack's Web API on 127.0.0.1, with the default workflow's team channels."""
    api = FakeSlackApi(TOKEN)
    for name, channel_id in CHANNELS.items():
        api.add_channel(name, channel_id)
    yield api
    api.stop()


@pytest.fixture
def slack_runtime(runtime: Runtime, slack_api: FakeSlackApi, clock: Clock) -> Runtime:
    """The test runtime with Slack configured against the fake Web API."""
    settings = replace(
        runtime.settings,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack_api.url,
        base_url=BASE_URL,
    )
    return replace(runtime, settings=settings, clock=clock)


@pytest.fixture
def slack_app(slack_runtime: Runtime) -> Iterator[Flask]:
    """create_app with Slack on; its listener threads are finished and stopped afterwards."""
    from hub.app import create_app

    app = create_app(runtime=slack_runtime, TESTING=True)
    yield app
    ctx: SlackContext = app.extensions["hub.slack"]
    ctx.wait_idle(10)
    ctx.close()


@pytest.fixture
def slack(slack_app: Flask, slack_api: FakeSlackApi) -> SlackRequests:
    """Signed requests to the app's /slack/events."""
    return SlackRequests(slack_app, slack_api)


@pytest.fixture
def people(session: Session, slack_api: FakeSlackApi) -> People:
    """Users on each team, linked to the fake workspace's members."""

    def user(email: str, name: str, team: str | None, slack_id: str | None, role: Role = Role.MEMBER) -> int:
        u = make_user(session, team=team, role=role, email=email, name=name, slack_user_id=slack_id)
        slack_api.add_user(slack_id or "UNEW", email, name)
        return u.id

    ids = People(
        cs=user("cora@shop.example", "Cora Service", "customer_service", "UCS"),
        logistics=user("lou@shop.example", "Lou Logistics", "logistics", "ULOG"),
        warehouse=user("wanda@shop.example", "Wanda Warehouse", "warehouse", "UWH"),
        warehouse2=user("walt@shop.example", "Walt Warehouse", "warehouse", "UWH2"),
        lead=user("lena@shop.example", "Lena Lead", "warehouse", "ULEAD", Role.LEAD),
        unlinked=user("nina@shop.example", "Nina New", "warehouse", None),
    )
    slack_api.add_user("USTRANGER", "stranger@elsewhere.example", "Stranger")
    session.commit()
    return ids


@pytest.fixture
def new_return(session: Session, workflow: Workflow, clock: Clock):
    """Creates a return (committed) in a stage: new_return(stage="received", **draft fields)."""

    def make(stage: str | None = None, **overrides: Any) -> Return:
        r = make_return(session, workflow, stage=stage, now=clock(), **overrides)
        session.commit()
        return r

    return make
