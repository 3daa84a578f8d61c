"""Slack test support: requests signed as Slack signs them, the text of a message, what the hub stored."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.notifications.models import Notification
from hub.returns.models import Event, Return
from integrations.slack.context import SlackContext
from tests.slack.fake_api import Call, FakeSlackApi

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TOKEN = "xoxb-test-token"
BASE_URL = "https://returns.shop.example"
CHANNELS = {
    "#returns-customer-service": "CCS",
    "#returns-logistics": "CLOG",
    "#returns-warehouse": "CWH",
    "#returns-escalations": "CESC",
}
_seq = itertools.count(1)


def sign(body: str, timestamp: int | str, secret: str = SECRET) -> str:
    """Slack's v0 signature: HMAC-SHA256 of "v0:{timestamp}:{body}" with the signing secret."""
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return f"v0={digest}"


class SlackRequests:
    """Sends slash commands, button clicks, modal submissions and events to /slack/events, signed."""

    def __init__(self, app: Flask, api: FakeSlackApi) -> None:
        self.client = app.test_client()
        self.ctx: SlackContext = app.extensions["hub.slack"]
        self.api = api

    def wait(self) -> None:
        """Until the work Bolt runs after each acknowledgement is done (no fixed sleeps)."""
        assert self.ctx.wait_idle(10), "the Slack listeners did not finish within 10 s"

    def post(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
        wait: bool = True,
    ) -> Any:
        ts = int(time.time()) if timestamp is None else timestamp
        all_headers = {
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature or sign(body, ts),
            "Content-Type": content_type,
            **(headers or {}),
        }
        response = self.client.post("/slack/events", data=body.encode(), headers=all_headers)
        if wait:
            self.wait()
        return response

    def command(
        self, text: str, user: str = "UCS", *, trigger_id: str | None = None, channel: str = "CCS", **kwargs: Any
    ) -> Any:
        """/returns <text> typed by `user` in `channel`."""
        trigger_id = trigger_id or f"trigger-{next(_seq)}"
        fields = {
            "token": "deprecated-verification-token",
            "team_id": "T1",
            "team_domain": "shop",
            "channel_id": channel,
            "channel_name": "returns",
            "user_id": user,
            "user_name": user.lower(),
            "command": self.ctx.command,
            "text": text,
            "api_app_id": "A1",
            "is_enterprise_install": "false",
            "response_url": self.api.response_url(trigger_id),
            "trigger_id": trigger_id,
        }
        return self.post(urlencode(fields), "application/x-www-form-urlencoded", **kwargs)

    def action(
        self,
        action_id: str,
        value: str,
        *,
        user: str,
        message: dict[str, Any] | None = None,
        channel: str = "CWH",
        ephemeral: bool = False,
        action_ts: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """A click on a button of `message` (a channel message) or of an ephemeral reply."""
        ts = (message or {}).get("ts", "1772700000.000001")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "api_app_id": "A1",
            "token": "deprecated-verification-token",
            "user": {"id": user, "username": user.lower(), "team_id": "T1"},
            "team": {"id": "T1", "domain": "shop"},
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral},
            "trigger_id": f"trigger-{next(_seq)}",
            "channel": {"id": channel, "name": "returns"},
            "response_url": self.api.response_url(f"action-{next(_seq)}"),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "actions",
                    "type": "button",
                    "value": value,
                    "text": {"type": "plain_text", "text": action_id},
                    "action_ts": action_ts or f"{time.time():.6f}",
                }
            ],
        }
        if message is not None and not ephemeral:
            payload["message"] = {
                "type": "message",
                "ts": ts,
                "text": message.get("text", ""),
                "blocks": message.get("blocks", []),
                "user": "UBOT",
                "bot_id": "BBOT",
            }
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", **kwargs)

    def submit(
        self,
        callback_id: str,
        values: dict[str, str],
        *,
        user: str,
        view_id: str = "VNEW",
        private_metadata: str = "",
        **kwargs: Any,
    ) -> Any:
        """A modal submitted with these values (block id -> text, option value or date)."""
        state = {}
        for block_id, value in values.items():
            if block_id in ("priority", "item_reason_code", "resolution", "rejection_reason"):
                element = {
                    "type": "static_select",
                    "selected_option": {"value": value, "text": {"type": "plain_text", "text": value}}
                    if value
                    else None,
                }
            elif block_id == "delivered_on":
                element = {"type": "datepicker", "selected_date": value or None}
            else:
                element = {"type": "plain_text_input", "value": value or None}
            state[block_id] = {"value": element}
        payload = {
            "type": "view_submission",
            "api_app_id": "A1",
            "token": "deprecated-verification-token",
            "team": {"id": "T1", "domain": "shop"},
            "user": {"id": user, "username": user.lower(), "team_id": "T1"},
            "trigger_id": f"trigger-{next(_seq)}",
            "view": {
                "id": view_id,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "hash": "1.abc",
                "state": {"values": state},
                "team_id": "T1",
                "app_id": "A1",
            },
        }
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded", **kwargs)

    def event(self, event: dict[str, Any], *, event_id: str, **kwargs: Any) -> Any:
        """An Events API callback (JSON body)."""
        body = json.dumps(
            {
                "token": "deprecated-verification-token",
                "team_id": "T1",
                "api_app_id": "A1",
                "event": event,
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
            }
        )
        return self.post(body, "application/json", **kwargs)

    def replies(self) -> list[Call]:
        """What the app answered through response_urls (ephemeral replies), oldest first."""
        return self.api.calls_to("respond")

    def last_reply(self) -> str:
        """The text of the newest response_url reply, blocks included."""
        replies = self.replies()
        assert replies, f"no reply; calls: {[c.method for c in self.api.calls]}"
        return message_text(replies[-1].args)


def message_text(args: dict[str, Any]) -> str:
    """A message's text and every text in its blocks, one string to search in."""
    return "\n".join([str(args.get("text") or "")] + list(_texts(args.get("blocks") or [])))


def _texts(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


@dataclass(frozen=True)
class People:
    """Hub users linked to Slack users (and one who is not linked yet)."""

    cs: int  # customer service member, Slack UCS
    logistics: int  # ULOG
    warehouse: int  # UWH
    warehouse2: int  # UWH2
    lead: int  # ULEAD
    unlinked: int  # a warehouse member whose Slack account (UNEW) is found by e-mail


def events_of(session_factory: sessionmaker[Session], rma: str) -> list[Event]:
    """A return's timeline, oldest first, read fresh."""
    with session_factory() as s:
        r = s.scalar(select(Return).where(Return.rma == rma))
        return list(s.scalars(select(Event).where(Event.return_id == r.id).order_by(Event.id)))


def fetch(session_factory: sessionmaker[Session], rma: str) -> Return:
    """A return as stored now."""
    with session_factory() as s:
        r = s.scalar(select(Return).where(Return.rma == rma))
        assert r is not None
        s.expunge(r)
        return r


def slack_outbox(session_factory: sessionmaker[Session], **where: Any) -> list[Notification]:
    """Slack notifications in the outbox, oldest first."""
    with session_factory() as s:
        stmt = select(Notification).filter_by(channel="slack", **where).order_by(Notification.id)
        return list(s.scalars(stmt))
