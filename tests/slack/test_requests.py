"""POST /slack/events: only requests signed by Slack, within 5 minutes, get through; without Slack it says so."""

from __future__ import annotations

import json
import time
from dataclasses import replace
from importlib import resources

import pytest

from hub.core.config import Settings, SettingsError
from tests.slack.support import SECRET, TOKEN, SlackRequests, sign, slack_outbox

FORM = "application/x-www-form-urlencoded"


def _command_body(slack, text: str = "mine") -> str:
    from urllib.parse import urlencode

    return urlencode(
        {
            "command": "/returns",
            "text": text,
            "user_id": "UCS",
            "team_id": "T1",
            "channel_id": "CCS",
            "trigger_id": "t-1",
            "response_url": slack.api.response_url("x"),
        }
    )


def test_a_request_with_a_bad_signature_is_refused_and_changes_nothing(slack, people, new_return, session_factory):
    r = new_return()
    body = _command_body(slack, f"flag {r.rma} lost")

    resp = slack.post(body, FORM, signature=sign(body, int(time.time()), secret="not-the-secret"))

    assert resp.status_code == 401
    assert slack.api.calls == []
    assert not slack_outbox(session_factory)


@pytest.mark.parametrize("age", [301, 3600, -400])
def test_a_timestamp_more_than_five_minutes_off_is_refused(slack, people, age):
    body = _command_body(slack)
    stale = int(time.time()) - age

    resp = slack.post(body, FORM, timestamp=stale, signature=sign(body, stale))  # correctly signed, but old

    assert resp.status_code == 401
    assert slack.api.calls == []


def test_a_timestamp_within_five_minutes_is_accepted(slack, people):
    ts = int(time.time()) - 240
    body = _command_body(slack, "help")
    assert slack.post(body, FORM, timestamp=ts, signature=sign(body, ts)).status_code == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"X-Slack-Request-Timestamp": "", "X-Slack-Signature": ""},
        {"X-Slack-Request-Timestamp": "yesterday", "X-Slack-Signature": "v0=abc"},
    ],
)
def test_missing_or_malformed_signature_headers_get_a_401_not_a_500(slack, headers):
    resp = slack.client.post("/slack/events", data=b"payload=%7B", headers={"Content-Type": FORM, **headers})
    assert resp.status_code == 401
    assert "invalid request" in resp.get_data(as_text=True)


def test_a_signed_but_malformed_body_gets_a_4xx(slack):
    assert slack.post("payload=%7Bnot-json", FORM).status_code in (400, 404)


def test_the_url_verification_challenge_is_answered(slack):
    body = json.dumps(
        {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P", "type": "url_verification"}
    )
    resp = slack.post(body, "application/json")
    assert resp.status_code == 200
    assert "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" in resp.get_data(as_text=True)


def test_slack_requests_need_no_login_and_no_csrf_token(slack, people):
    # the app's CSRF protection and login requirement are on (conftest), yet Slack's signed post gets through
    resp = slack.command("help")
    assert resp.status_code == 200
    assert "/returns mine" in resp.get_data(as_text=True)


def test_without_slack_configured_the_endpoint_says_so_and_the_rest_works(client):
    resp = client.post("/slack/events", data=b"command=%2Freturns", headers={"Content-Type": FORM})
    assert resp.status_code == 503
    assert resp.mimetype == "text/plain"
    assert "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET" in resp.get_data(as_text=True)
    health = client.get("/healthz").get_json()
    assert health["slack"] == "off"
    assert client.get("/login").status_code == 200


def test_health_reports_slack_configured(slack):
    assert slack.client.get("/healthz").get_json()["slack"] == "configured"


def test_the_command_name_is_configurable(runtime, slack_api, clock, people):
    from hub.app import create_app

    settings = replace(
        runtime.settings,
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack_api.url.rstrip("/"),
        slack_command="/rma",
    )
    app = create_app(runtime=replace(runtime, settings=settings, clock=clock), TESTING=True)
    slack = SlackRequests(app, slack_api)
    try:
        from urllib.parse import urlencode

        body = urlencode(
            {
                "command": "/rma",
                "text": "help",
                "user_id": "UCS",
                "team_id": "T1",
                "trigger_id": "t",
                "response_url": slack_api.response_url("x"),
            }
        )
        assert "/rma mine" in slack.post(body, FORM).get_data(as_text=True)
        # the API URL without its trailing slash still reaches the fake Web API
        slack.command("new")
        assert slack.api.calls_to("views.open")
    finally:
        slack.ctx.close()


def test_hub_slack_command_is_read_from_the_environment():
    assert Settings.from_env({"HUB_SLACK_COMMAND": "rma"}).slack_command == "/rma"
    assert Settings.from_env({}).slack_command == "/returns"
    with pytest.raises(SettingsError, match="HUB_SLACK_COMMAND"):
        Settings.from_env({"HUB_SLACK_COMMAND": "/Returns Hub"})


def test_the_manifest_creates_the_app_with_one_paste():
    manifest = json.loads(resources.files("integrations.slack").joinpath("manifest.json").read_text("utf-8"))
    features, settings = manifest["features"], manifest["settings"]
    command = features["slash_commands"][0]
    assert command["command"] == Settings.from_env({}).slack_command
    assert command["should_escape"] is True  # @mentions arrive as <@U123>, which `assign` and `note` read
    urls = {command["url"], settings["event_subscriptions"]["request_url"], settings["interactivity"]["request_url"]}
    assert urls == {"https://YOUR-HUB/slack/events"}
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert features["app_home"]["home_tab_enabled"] is True
    assert features["app_home"]["messages_tab_enabled"] is True  # mentions arrive as direct messages
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "im:write",
        "users:read",
        "users:read.email",
    }
    assert settings["socket_mode_enabled"] is False
