"""Signed but malformed requests to /slack/events get a 400 and one log line, never a 500 with a traceback;
text with control characters gets a reply in words and changes nothing."""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest

from hub.returns.models import Comment
from tests.slack.support import events_of, fetch, slack_outbox

FORM = "application/x-www-form-urlencoded"


def _payload(body: Any) -> str:
    return urlencode({"payload": body if isinstance(body, str) else json.dumps(body)})


def _action(**overrides: Any) -> dict[str, Any]:
    action = {"action_id": "claim", "block_id": "b", "type": "button", "value": "RMA-1|received", "action_ts": "1.0"}
    action.update(overrides)
    return {
        "type": "block_actions",
        "user": {"id": "UWH"},
        "team": {"id": "T1"},
        "trigger_id": "t-1",
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [{k: v for k, v in action.items() if v is not None}],
    }


def _view(**overrides: Any) -> dict[str, Any]:
    view: dict[str, Any] = {"id": "V1", "type": "modal", "callback_id": "new_return", "state": {"values": {}}}
    view.update(overrides)
    return {
        "type": "view_submission",
        "user": {"id": "UCS"},
        "team": {"id": "T1"},
        "view": {k: v for k, v in view.items() if v is not None},
    }


MALFORMED_FORMS = {
    "payload is a list": _payload("[]"),
    "payload is a string": _payload('"block_actions"'),
    "payload is a number": _payload("42"),
    "payload is null": _payload("null"),
    "payload is not JSON": _payload("{not json"),
    "payload without type": _payload({"user": {"id": "UCS"}}),
    "payload type not a string": _payload({"type": ["block_actions"]}),
    "view without type": _payload(_view(type=None)),
    "view is a list": _payload({**_view(), "view": []}),
    "view without id": _payload(_view(id=None)),
    "view state is a list": _payload(_view(state=[])),
    "view values not an object": _payload(_view(state={"values": "x"})),
    "action without action_id": _payload(_action(action_id=None)),
    "action_id not a string": _payload(_action(action_id=7)),
    "actions not a list": _payload({**_action(), "actions": {"action_id": "claim"}}),
    "action is a string": _payload({**_action(), "actions": ["claim"]}),
    "user is a string": _payload({**_action(), "user": "UWH"}),
    "command without command": urlencode({"text": "mine", "user_id": "UCS", "team_id": "T1"}),
}


@pytest.mark.parametrize("body", list(MALFORMED_FORMS.values()), ids=list(MALFORMED_FORMS))
def test_a_signed_malformed_form_body_gets_a_400_and_one_log_line(slack, people, body, caplog):
    caplog.set_level(logging.INFO)
    resp = slack.post(body, FORM)

    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert "invalid request" in resp.get_data(as_text=True)
    mine = [r for r in caplog.records if r.name.startswith("integrations.slack")]
    assert len(mine) == 1, [r.getMessage() for r in caplog.records]
    assert mine[0].exc_info is None
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert slack.api.calls == []


MALFORMED_JSON = {
    "a list": "[]",
    "a string": '"event_callback"',
    "not JSON": "{oops",
    "without type": json.dumps({"event": {"type": "app_home_opened"}}),
    "event is a list": json.dumps({"type": "event_callback", "event_id": "E1", "event": []}),
}


@pytest.mark.parametrize("body", list(MALFORMED_JSON.values()), ids=list(MALFORMED_JSON))
def test_a_signed_malformed_json_body_gets_a_400_and_one_log_line(slack, people, body, caplog):
    caplog.set_level(logging.INFO)
    resp = slack.post(body, "application/json")

    assert resp.status_code == 400, resp.get_data(as_text=True)
    assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    assert slack.api.calls == []


CONTROL = ["\x00", "\x01", "\x08", "\x1b", "\x1f"]


@pytest.mark.parametrize("char", CONTROL, ids=repr)
def test_a_command_with_a_control_character_gets_a_reply_in_words_and_changes_nothing(
    slack, people, new_return, session_factory, char
):
    r = new_return(stage="received")

    resp = slack.command(f"note {r.rma} hello{char}there")

    assert resp.status_code == 200
    text = resp.get_data(as_text=True)
    assert "control character" in text
    assert "Type it again without it" in text
    assert [e.kind for e in events_of(session_factory, r.rma)] == ["created"]
    with session_factory() as s:
        assert s.query(Comment).count() == 0
    assert not slack_outbox(session_factory)


def test_tabs_and_newlines_in_a_note_are_fine(slack, people, new_return, session_factory):
    r = new_return(stage="received")
    slack.command(f"note {r.rma} line one\n\tline two")
    assert "Comment" in slack.last_reply() or "comment" in slack.last_reply()
    with session_factory() as s:
        assert s.query(Comment).one().body == "line one\n\tline two"


@pytest.mark.parametrize("char", CONTROL, ids=repr)
def test_a_modal_field_with_a_control_character_is_marked_in_the_modal(slack, people, session_factory, char):
    values = {
        "order_number": "ORD-1",
        "customer_name": f"Ann{char}Smith",
        "customer_email": "ann@example.com",
        "item_sku": "SKU-1",
        "item_product_name": "Shoe",
        "item_quantity": "1",
        "item_unit_price": "10.00",
        "item_reason_code": "damaged",
    }
    resp = slack.submit("new_return", values, user="UCS")

    assert resp.status_code == 200
    answer = resp.get_json()
    assert answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"customer_name"}
    assert "control character" in answer["errors"]["customer_name"]
    with session_factory() as s:
        from hub.returns.models import Return

        assert s.query(Return).count() == 0


def test_a_button_value_with_a_control_character_gets_a_reply_in_words(slack, people, new_return, session_factory):
    r = new_return(stage="received")

    resp = slack.action("claim", f"{r.rma}\x00|received", user="UWH", ephemeral=True)

    assert resp.status_code == 200
    assert "control character" in slack.last_reply()
    assert fetch(session_factory, r.rma).assignee_id is None


def test_a_note_with_the_word_payload_is_a_note(slack, people, new_return, session_factory):
    # Bolt's own parser takes any form body with "payload" in it for an interaction payload
    r = new_return(stage="received")
    resp = slack.command(f"note {r.rma} the payload arrived wet")
    assert resp.status_code == 200
    with session_factory() as s:
        assert s.query(Comment).one().body == "the payload arrived wet"
