"""What /slack/events lets through to Bolt once the signature is good: a body shaped as Slack sends it, with no
control character in what a person typed.

A signed body can still be malformed (a payload that is a list, a view without a type, a button without an
action_id): Bolt and the listeners would fail on it with a traceback and a 500, so it gets a 400 and one log
line instead. Text with a C0 control character other than tab and newline (PostgreSQL cannot store U+0000)
gets an answer in words where the person typed it: the command's reply, the modal field, the button's message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f]")  # C0 controls but tab and newline

# parts of an interaction payload that Bolt and the listeners read as objects, when present
OBJECTS = ("user", "team", "enterprise", "channel", "container", "view", "message", "state")


class Malformed(Exception):
    """The signed body is not what Slack sends; the message says what is wrong (for the log and the 400)."""


@dataclass(frozen=True)
class Refusal:
    """Typed text holding a control character: what to tell the person, and where."""

    kind: str  # "command", "view" or "action"
    text: str  # the answer in words
    fields: dict[str, str] = field(default_factory=dict)  # a modal's block id -> the error shown next to it
    response_url: str | None = None  # where a button's clicker is told


def parse_body(body: str, content_type: str | None) -> dict[str, Any]:
    """The body as Slack sent it: JSON (the Events API), an interaction's `payload`, or a slash command's form.

    Bolt's own parser takes any form body with the word "payload" in it for an interaction, so a note about
    a payload would reach no listener: the app hands Bolt this parse instead. Raises Malformed."""
    if not body:
        return {}
    try:
        if content_type == "application/json" or body.startswith("{"):
            data = json.loads(body)
        else:
            params = dict(parse_qsl(body, keep_blank_values=True))
            data = json.loads(params["payload"]) if "payload" in params else params
    except ValueError as exc:
        raise Malformed(f"the body is not JSON or form data Slack sends ({exc})") from None
    if not isinstance(data, dict):
        raise Malformed(f"the body is a JSON {type(data).__name__}, not an object")
    return data


def check(data: dict[str, Any]) -> Refusal | None:
    """None when the parsed body may go to Bolt; a Refusal for typed control characters; raises Malformed."""
    if "ssl_check" in data:
        return None
    if "command" in data:
        return _check_command(data)
    return _check_payload(data)


def _check_payload(data: dict[str, Any]) -> Refusal | None:
    """An interaction payload or an Events API callback."""
    kind = data.get("type")
    if not isinstance(kind, str):
        raise Malformed("the body has no command and no payload type")
    for name in OBJECTS:
        if data.get(name) is not None and not isinstance(data[name], dict):
            raise Malformed(f"{name} is not an object in a {kind} payload")
    if kind == "block_actions":
        return _check_actions(data)
    if kind in ("view_submission", "view_closed"):
        return _check_view(data)
    if kind == "event_callback":
        event = data.get("event")
        if not isinstance(event, dict) or not isinstance(event.get("type"), str):
            raise Malformed("an event_callback without an event type")
        if event["type"] == "app_home_opened" and not isinstance(event.get("user"), str):
            raise Malformed("an app_home_opened event without a user")
    if kind == "url_verification" and not isinstance(data.get("challenge"), str):
        raise Malformed("a url_verification without a challenge")
    return None


def _user_id(data: dict[str, Any], kind: str) -> None:
    user = data.get("user")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        raise Malformed(f"a {kind} payload without a user id")


def _check_command(data: dict[str, Any]) -> Refusal | None:
    if not isinstance(data.get("user_id"), str) or not data["user_id"]:
        raise Malformed("a slash command without a user_id")
    for name, value in data.items():
        if not isinstance(value, str):
            raise Malformed(f"the command's {name} is not text")
        found = CONTROL.search(value)
        if found and name == "text":
            return Refusal(
                "command",
                f":x: Your text has a control character ({_code(found.group())}) that cannot be stored; "
                "nothing was changed. Type it again without it.",
            )
        if found:
            raise Malformed(f"a control character in the command's {name}")
    return None


def _check_actions(data: dict[str, Any]) -> Refusal | None:
    _user_id(data, "block_actions")
    actions = data.get("actions")
    if not isinstance(actions, list) or not actions:
        raise Malformed("a block_actions payload without a list of actions")
    for action in actions:
        if not isinstance(action, dict) or not isinstance(action.get("action_id"), str):
            raise Malformed("an action without an action_id")
        if "value" in action and not isinstance(action["value"], str):
            raise Malformed(f"the {action['action_id']} action's value is not text")
        for text in _strings(action):
            found = CONTROL.search(text)
            if found:
                url = data.get("response_url")
                return Refusal(
                    "action",
                    f":x: That button carries a control character ({_code(found.group())}) the hub cannot store; "
                    "nothing was changed. Use the board.",
                    response_url=url if isinstance(url, str) else None,
                )
    return None


def _check_view(data: dict[str, Any]) -> Refusal | None:
    kind = data["type"]
    _user_id(data, kind)
    view = data.get("view")
    if not isinstance(view, dict):
        raise Malformed(f"a {kind} payload without a view")
    for name in ("type", "id", "callback_id"):
        if not isinstance(view.get(name), str):
            raise Malformed(f"a {kind} payload whose view has no {name}")
    if not isinstance(view.get("private_metadata", ""), str):
        raise Malformed(f"a {kind} payload whose view's private_metadata is not text")
    state = view.get("state", {})
    values = state.get("values", {}) if isinstance(state, dict) else None
    if not isinstance(values, dict) or not all(
        isinstance(elements, dict) and all(isinstance(e, dict) for e in elements.values())
        for elements in values.values()
    ):
        raise Malformed(f"a {kind} payload whose view state is not blocks of elements")
    errors: dict[str, str] = {}
    for block_id, elements in values.items():
        for text in _strings(elements):
            found = CONTROL.search(text)
            if found and block_id not in errors:
                errors[block_id] = (
                    f"This has a control character ({_code(found.group())}) that cannot be stored: remove it."
                )
    if errors:
        return Refusal("view", "A field has a control character that cannot be stored.", fields=errors)
    return None


def _strings(node: Any) -> Iterator[str]:
    """Every text in a JSON value (keys included)."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _code(char: str) -> str:
    return f"U+{ord(char):04X}"
