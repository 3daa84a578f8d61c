"""Block Kit builders: pure functions from plain data (outbox payloads, query rows) to Slack messages and views.

A message is (text, blocks): `text` is the notification and screen-reader fallback. Buttons carry the RMA and
the stage the message is about, so a click on a message that events have overtaken changes nothing.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from hub.returns.models import EVENT_WORDS
from hub.workflow import Workflow

Block = dict[str, Any]
Message = tuple[str, list[Block]]

MAX_BLOCKS = 50  # per message (a modal or the Home tab may have 100)
MAX_SECTION = 3000
MAX_BUTTON = 75
MAX_LIST = 15  # rows in a list before "and N more"
MAX_MOVE_BUTTONS = 3

LEVELS = {
    "due_soon": (":hourglass_flowing_sand:", "Due soon"),
    "overdue": (":alarm_clock:", "Overdue"),
    "escalated": (":rotating_light:", "Escalated"),
    "promise_broken": (":warning:", "Promise to the customer broken"),
}


# --- text helpers ------------------------------------------------------------------------------


def esc(text: object) -> str:
    """Text safe inside mrkdwn: Slack's three control characters escaped."""
    return str(text if text is not None else "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cut(text: str, limit: int) -> str:
    """At most `limit` characters, with an ellipsis when shortened."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _dt(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    dt = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def when(value: str | datetime | None, fmt: str = "{date_short_pretty} {time}") -> str:
    """A moment shown in each reader's own time zone by Slack, with a UTC fallback."""
    dt = _dt(value)
    if dt is None:
        return "—"
    fallback = dt.astimezone(UTC).strftime("%d %b %Y %H:%M UTC")
    return f"<!date^{int(dt.timestamp())}^{fmt}|{fallback}>"


def duration(since: str | datetime | None, now: datetime) -> str:
    """How long ago, coarsely: 40 min, 5 h, 2 d 3 h."""
    start = _dt(since)
    if start is None:
        return "—"
    minutes = max(0, int((now - start).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours = minutes // 60
    if hours < 24:
        return f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def return_url(base_url: str, rma: str) -> str:
    """The return's page on the board."""
    return f"{base_url}/returns/{quote(rma)}"


def board_url(base_url: str, **filters: str) -> str:
    """The board, filtered."""
    args = {k: v for k, v in filters.items() if v}
    return f"{base_url}/board" + (f"?{urlencode(args)}" if args else "")


def action_value(rma: str, stage: str | None) -> str:
    """What a button carries: the RMA and the stage the message is about."""
    return json.dumps({"rma": rma, "stage": stage}, separators=(",", ":"))


def read_action_value(value: str) -> tuple[str, str | None]:
    """The RMA and stage a button carries (a bare RMA from older messages works too)."""
    try:
        data = json.loads(value)
    except ValueError:
        return value, None
    if isinstance(data, dict):
        return str(data.get("rma", "")), data.get("stage")
    return str(value), None


def _section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION)}}
    if block_id:
        block["block_id"] = block_id
    return block


def _context(*texts: str) -> Block:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(t, MAX_SECTION)} for t in texts if t]}


def _header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": cut(text, 150), "emoji": True}}


def _button(text: str, action_id: str, *, value: str | None = None, url: str | None = None,
            style: str | None = None) -> Block:
    button: Block = {"type": "button", "action_id": action_id,
                     "text": {"type": "plain_text", "text": cut(text, MAX_BUTTON), "emoji": True}}
    if value is not None:
        button["value"] = value
    if url is not None:
        button["url"] = url
    if style:
        button["style"] = style
    return button


def _link(base_url: str, rma: str) -> str:
    return f"<{return_url(base_url, rma)}|{esc(rma)}>"


# --- a return: facts, items and buttons -----------------------------------------------------------


SNOOZE_HOURS = 4


def return_actions(p: Mapping[str, Any], base_url: str, *, claim: bool = True, moves: bool = True,
                   snooze: bool = False) -> Block:
    """Claim, Move to <next stage>, (Snooze) and Open in board, for the stage the message is about."""
    rma, stage = p["rma"], p.get("stage")
    value = action_value(rma, stage)
    elements = []
    if claim and p.get("team") and not p.get("assignee"):
        elements.append(_button("Claim", "claim", value=value, style="primary"))
    if moves:
        room = MAX_MOVE_BUTTONS - (1 if snooze else 0)  # at most five buttons side by side
        for nxt in list(p.get("next_stages") or [])[:room]:
            elements.append(_button(f"Move to {nxt['name']}", f"move:{nxt['key']}", value=value))
    if snooze and p.get("team"):
        elements.append(_button(f"Remind me in {SNOOZE_HOURS} hours", "snooze", value=value))
    elements.append(_button("Open in board", "open_board", value=rma, url=return_url(base_url, rma)))
    return {"type": "actions", "block_id": "actions", "elements": elements}


def _items_text(items: Sequence[Mapping[str, Any]], limit: int = 10) -> str:
    lines = [
        f"• {esc(i.get('quantity', 1))} × `{esc(i.get('sku', ''))}` {esc(i.get('product_name', ''))}"
        + (f" — {esc(i.get('reason') or i.get('reason_code'))}" if i.get("reason") or i.get("reason_code") else "")
        for i in items[:limit]
    ]
    if len(items) > limit:
        lines.append(f"… and {len(items) - limit} more")
    return "\n".join(lines) or "_no items_"


def _fact_fields(p: Mapping[str, Any]) -> Block:
    fields = [
        f"*Customer*\n{esc(p.get('customer_name'))}",
        f"*Order*\n{esc(p.get('order_number'))}",
        f"*Stage*\n{esc(p.get('stage_name'))}" + (f" · {esc(p['team_name'])}" if p.get("team_name") else ""),
        f"*Due*\n{when(p.get('due_at'))}",
        f"*Assignee*\n{esc(p['assignee']) if p.get('assignee') else '_unassigned_'}",
        f"*Promised to the customer by*\n{when(p.get('promised_by'), '{date_short_pretty}')}",
    ]
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": cut(f, 2000)} for f in fields]}


def _comment_block(comment: Mapping[str, Any] | None) -> list[Block]:
    if not comment:
        return []
    body = cut(str(comment.get("body", "")), 600).replace("\n", "\n>")
    return [_section(f":speech_balloon: *{esc(comment.get('author'))}* wrote:\n>{esc(body)}")]


def handoff_message(p: Mapping[str, Any], base_url: str) -> Message:
    """A return handed to the team that now owns it: who, from where, the last comment, the due date, buttons."""
    rma, team = p["rma"], p.get("team_name") or "your team"
    origin = (f"from {esc(p['from_team_name'])}" if p.get("from_team_name")
              else f"from “{esc(p.get('from_stage_name'))}”")
    who = f" by {esc(p['actor'])}" if p.get("actor") else ""
    text = f"{rma} handed to {team} ({p.get('stage_name')}){who}"
    blocks: list[Block] = [
        _section(f":inbox_tray: *{_link(base_url, rma)}* is now *{esc(team)}*'s: "
                 f"“{esc(p.get('stage_name'))}”, handed over {origin}{who}.", block_id="summary"),
        _fact_fields(p),
        _section(f"*Items*\n{_items_text(p.get('items') or [])}"),
    ]
    if p.get("note"):
        blocks.append(_section(f"*Note*\n>{esc(cut(str(p['note']), 1000))}"))
    blocks += _comment_block(p.get("last_comment"))
    blocks.append(return_actions(p, base_url))
    return text, blocks


def alert_message(p: Mapping[str, Any], base_url: str) -> Message:
    """A delay alert: the handoff message's facts and buttons under a header that names the level."""
    emoji, label = LEVELS.get(str(p.get("level")), (":alarm_clock:", str(p.get("level", "Alert")).replace("_", " ")))
    rma = p["rma"]
    late = f" ({p['late_by']})" if p.get("late_by") else ""
    text = f"{label}: {rma} in {p.get('stage_name')}{late}"
    blocks: list[Block] = [
        _header(f"{label}: {rma}"),
        _section(f"{emoji} *{_link(base_url, rma)}* in “{esc(p.get('stage_name'))}”"
                 + (f" ({esc(p['team_name'])})" if p.get("team_name") else "")
                 + (f" is late by {esc(p['late_by'])}." if p.get("late_by") else "."), block_id="summary"),
        _fact_fields(p),
        _section(f"*Items*\n{_items_text(p.get('items') or [])}"),
    ]
    blocks += _comment_block(p.get("last_comment"))
    blocks.append(return_actions(p, base_url, snooze=True))
    return text, blocks


def mention_message(p: Mapping[str, Any], base_url: str) -> Message:
    """Someone @mentioned the recipient in a comment."""
    rma = p["rma"]
    text = f"{p.get('author')} mentioned you on {rma}"
    body = cut(str(p.get("body", "")), 2000).replace("\n", "\n>")
    blocks = [
        _section(f":speech_balloon: *{esc(p.get('author'))}* mentioned you on *{_link(base_url, rma)}* "
                 f"({esc(p.get('customer_name'))}, “{esc(p.get('stage_name'))}”):\n>{esc(body)}"),
        {"type": "actions", "block_id": "actions",
         "elements": [_button("Open in board", "open_board", value=rma, url=return_url(base_url, rma))]},
    ]
    return text, blocks


def _digest_rows(rows: Sequence[Mapping[str, Any]], total: int, base_url: str, limit: int = 10) -> str:
    lines = []
    for row in rows[:limit]:
        who = f" · {esc(row['assignee'])}" if row.get("assignee") else ""
        lines.append(f"• {_link(base_url, row['rma'])} {esc(row.get('customer_name'))} — "
                     f"{esc(row.get('stage_name'))}, due {when(row.get('due_at'))}{who}")
    if total > len(lines):
        lines.append(f"… and {total - len(lines)} more")
    return "\n".join(lines)


def digest_message(p: Mapping[str, Any], base_url: str) -> Message:
    """A team's daily digest: open count, then overdue, due today, blocked and unassigned returns."""
    team_name, team = p.get("team_name") or p.get("team") or "Team", p.get("team") or ""
    try:
        d = date.fromisoformat(str(p.get("date")))
        day = f"{d:%a} {d.day} {d:%b %Y}"
    except ValueError:
        day = str(p.get("date", ""))
    sections = (("overdue", ":alarm_clock:", "overdue", {"overdue": "1"}),
                ("due_today", ":calendar:", "due today", {}),
                ("blocked", ":no_entry:", "blocked", {"blocked": "1"}),
                ("unassigned", ":bust_in_silhouette:", "unassigned", {"assignee": "unassigned"}))
    totals = {key: int(p.get(f"{key}_count", len(p.get(key) or []))) for key, _, _, _ in sections}
    counts = ", ".join(f"{totals[key]} {label}" for key, _, label, _ in sections)
    text = f"{team_name} digest for {day}: {p.get('open_count', 0)} open ({counts})"
    blocks: list[Block] = [
        _header(f"{team_name} — {day}"),
        _section(f"*{esc(p.get('open_count', 0))}* open returns: {esc(counts)}.", block_id="summary"),
    ]
    for key, emoji, label, filters in sections:
        rows = p.get(key) or []
        if rows:
            blocks.append(_section(f"{emoji} *{label.capitalize()}* ({totals[key]})\n"
                                   f"{_digest_rows(rows, totals[key], base_url)}"))
            blocks.append(_context(f"<{board_url(base_url, team=team, **filters)}|See them on the board>"))
    if len(blocks) == 2:
        blocks.append(_section("Nothing overdue, due today, blocked or unassigned. :tada:"))
    blocks.append({"type": "actions", "block_id": "actions", "elements": [
        _button("Open the board", "open_board", value=team, url=board_url(base_url, team=team))]})
    return text, blocks[:MAX_BLOCKS]


def activity_message(p: Mapping[str, Any], base_url: str) -> Message:
    """A change someone made from Slack, told to the team that owned the return."""
    rma = p["rma"]
    who = f"<@{p['actor_slack_id']}>" if p.get("actor_slack_id") else f"*{esc(p.get('actor'))}*"
    text = f"{p.get('actor')} {p.get('what')} ({rma})"
    blocks = [_section(f"{who} {esc(p.get('what'))} — *{_link(base_url, rma)}*, {esc(p.get('customer_name'))}")]
    if p.get("note"):
        blocks.append(_section(f">{esc(cut(str(p['note']), 1000))}"))
    blocks.append(_context(f"from Slack · {when(p.get('at'))}"))
    return text, blocks


BUILDERS: dict[str, Callable[[Mapping[str, Any], str], Message]] = {
    "handoff": handoff_message, "alert": alert_message, "mention": mention_message, "digest": digest_message,
    "activity": activity_message,
}


def notification_message(kind: str, payload: Mapping[str, Any], base_url: str) -> Message:
    """The Slack message of an outbox notification; KeyError for a kind Slack has no message for."""
    return BUILDERS[kind](payload, base_url)


# --- after a button: the same message, with who did what ----------------------------------------


def updated_message(blocks: Sequence[Block], status: str, *, drop: Callable[[str], bool]) -> list[Block]:
    """The message's blocks with a status line added and the buttons `drop` says are spent removed."""
    kept = [b for b in blocks if b.get("block_id") != "actions"]
    statuses = sum(1 for b in kept if str(b.get("block_id", "")).startswith("status-"))
    kept.append({**_context(status), "block_id": f"status-{statuses + 1}"})
    actions = next((b for b in blocks if b.get("block_id") == "actions"), None)
    if actions is not None:
        elements = [e for e in actions.get("elements", []) if not drop(str(e.get("action_id", "")))]
        if elements:
            kept.append({**actions, "elements": elements})
    return kept[-MAX_BLOCKS:]


# --- replies to /returns ---------------------------------------------------------------------------


def detail_message(p: Mapping[str, Any], base_url: str, now: datetime) -> Message:
    """A return for `/returns <RMA>`: stage, team, age in stage, due, assignee, items, last events, buttons."""
    rma = p["rma"]
    state = ""
    if p.get("closed"):
        state = " · closed" + (f" ({esc(p['resolution']).replace('_', ' ')})" if p.get("resolution") else "")
    elif p.get("overdue"):
        state = " · :alarm_clock: *overdue*"
    text = f"{rma}: {p.get('customer_name')}, {p.get('stage_name')}"
    blocks: list[Block] = [
        _section(f"*{_link(base_url, rma)}* — {esc(p.get('customer_name'))} ({esc(p.get('customer_email'))})\n"
                 f"In “{esc(p.get('stage_name'))}” for {duration(p.get('at'), now)}{state}", block_id="summary"),
        _fact_fields(p),
    ]
    if p.get("is_blocked"):
        blocks.append(_section(f":no_entry: *Blocked:* {esc(p.get('blocked_reason'))}"))
    blocks.append(_section(f"*Items*\n{_items_text(p.get('items') or [])}"))
    events = p.get("events") or []
    if events:
        lines = [f"• {when(e['at'], '{date_short} {time}')} *{esc(e['actor'])}* {esc(e['text'])}"
                 f" _({esc(e['channel'])})_" for e in events]
        blocks.append(_section("*Last events*\n" + "\n".join(lines)))
    blocks.append(return_actions(p, base_url, claim=p.get("may_act", True)))
    return text, blocks


def describe_event(kind: str, payload: Mapping[str, Any], stage_names: Mapping[str, str],
                   from_stage: str | None, to_stage: str | None) -> str:
    """One timeline entry in words, as the return's page says it."""
    words = EVENT_WORDS.get(kind, kind.replace("_", " "))
    if kind in ("moved", "closed", "reopened"):
        src, dst = stage_names.get(from_stage or "", from_stage), stage_names.get(to_stage or "", to_stage)
        words += f" from “{src}” to “{dst}”"
    elif kind == "created":
        words += f" in “{stage_names.get(to_stage or '', to_stage)}”"
    elif kind == "assigned" and payload.get("assignee"):
        words += f" to {payload['assignee']}"
    elif kind == "alert" and payload.get("level"):
        words += f": {str(payload['level']).replace('_', ' ')}"
    extra = payload.get("note") or payload.get("reason") or payload.get("excerpt")
    if extra:
        words += f": “{cut(str(extra), 120)}”"
    return words


def list_message(title: str, rows: Sequence[Mapping[str, Any]], total: int, *, base_url: str, now: datetime,
                 more_url: str, empty: str) -> Message:
    """A list of returns (mine, a queue, the overdue ones), most urgent first, with a link to the rest."""
    text = f"{title}: {total}"
    if not rows:
        return text, [_section(f"*{esc(title)}*\n{esc(empty)}")]
    lines = []
    for row in rows[:MAX_LIST]:
        flags = " :no_entry:" if row.get("is_blocked") else ""
        overdue = " :alarm_clock:" if row.get("overdue") else ""
        who = esc(row["assignee"]) if row.get("assignee") else "_unassigned_"
        lines.append(f"• {_link(base_url, row['rma'])} {esc(row.get('customer_name'))} — {esc(row.get('stage_name'))}, "
                     f"due {when(row.get('due_at'))}{overdue}{flags} · {who}")
    blocks = [_section(f"*{esc(title)}* ({total})\n" + "\n".join(lines))]
    if total > len(lines):
        blocks.append(_context(f"Showing {len(lines)} of {total}. <{more_url}|See them all on the board>"))
    return text, blocks


def result_message(text: str, *, ok: bool = True, usage: str | None = None) -> Message:
    """A short ephemeral answer: done, or what went wrong (with the usage when it helps)."""
    icon = ":white_check_mark:" if ok else ":x:"
    body = f"{icon} {esc(text)}" + (f"\n{usage}" if usage else "")
    return text, [_section(body)]


# --- App Home -------------------------------------------------------------------------------------


def home_view(name: str, assigned: tuple[Sequence[Mapping[str, Any]], int],
              overdue: tuple[Sequence[Mapping[str, Any]], int], queues: Sequence[Mapping[str, Any]], *,
              base_url: str, now: datetime, command: str) -> Block:
    """The Home tab: the user's assigned returns, their teams' overdue ones and the queue sizes."""
    blocks: list[Block] = [
        _header(f"Returns Hub — {name}"),
        _context(f"Updated {when(now)} · `{command} help` lists the commands"),
        {"type": "divider"},
    ]
    if queues:
        lines = [f"• *{esc(q['team_name'])}*: {q['open']} open, {q['unassigned']} unassigned, "
                 f"{q['overdue']} overdue — <{board_url(base_url, team=q['team'])}|board>" for q in queues]
        blocks.append(_section("*Team queues*\n" + "\n".join(lines), block_id="queues"))
    for title, (rows, total), empty, block_id, more in (
        ("Assigned to you", assigned, "Nothing is assigned to you.", "assigned", {"assignee": "mine"}),
        ("Overdue in your teams", overdue, "Nothing is overdue. :tada:", "overdue", {"overdue": "1"}),
    ):
        _, listed = list_message(title, rows, total, base_url=base_url, now=now,
                                 more_url=board_url(base_url, **more), empty=empty)
        listed[0]["block_id"] = block_id
        blocks += listed
    blocks.append({"type": "actions", "block_id": "actions", "elements": [
        _button("Open the board", "open_board", value="board", url=board_url(base_url))]})
    return {"type": "home", "blocks": blocks[:100]}


def unmapped_home_view(message: str) -> Block:
    """The Home tab of someone who is not (yet) a hub user."""
    return {"type": "home", "blocks": [_header("Returns Hub"), _section(esc(message), block_id="unmapped")]}


# --- modals ---------------------------------------------------------------------------------------


def _input(block_id: str, label: str, *, optional: bool = False, initial: str | None = None,
           multiline: bool = False, hint: str | None = None, max_length: int | None = None) -> Block:
    element: Block = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    if initial:
        element["initial_value"] = initial
    if max_length:
        element["max_length"] = max_length
    block: Block = {"type": "input", "block_id": block_id, "optional": optional, "element": element,
                    "label": {"type": "plain_text", "text": label}}
    if hint:
        block["hint"] = {"type": "plain_text", "text": hint}
    return block


def _option(value: str, label: str) -> Block:
    return {"text": {"type": "plain_text", "text": cut(label, 75)}, "value": value}


def _select(block_id: str, label: str, options: Iterable[tuple[str, str]], *, initial: str | None = None,
            optional: bool = False) -> Block:
    opts = [_option(v, label_) for v, label_ in options]
    element: Block = {"type": "static_select", "action_id": "value", "options": opts[:100],
                      "placeholder": {"type": "plain_text", "text": "Choose…"}}
    chosen = next((o for o in opts if o["value"] == initial), None)
    if chosen:
        element["initial_option"] = chosen
    return {"type": "input", "block_id": block_id, "optional": optional, "element": element,
            "label": {"type": "plain_text", "text": label}}


NEW_RETURN_FIELDS = {  # modal block id -> the draft's field (items[0].* for the one product line)
    "order_number": "order_number", "customer_name": "customer_name", "customer_email": "customer_email",
    "customer_locale": "customer_locale", "delivered_on": "delivered_on", "priority": "priority",
    "item_sku": "items[0].sku", "item_product_name": "items[0].product_name", "item_quantity": "items[0].quantity",
    "item_unit_price": "items[0].unit_price", "item_reason_code": "items[0].reason_code",
    "item_category": "items[0].category", "item_reason_note": "items[0].reason_note",
    "carrier": "carrier", "tracking_number": "tracking_number",
}


def new_return_modal(workflow: Workflow, private_metadata: str) -> Block:
    """The `new` modal: the board's new-return form with one product line."""
    policy = workflow.policy
    blocks: list[Block] = [
        _context(f"It starts in “{esc(workflow.initial_stage.name)}”. Checked against the return policy as you "
                 f"create it: a {policy.return_window_days}-day window from delivery. One product line here; "
                 "add more on the board."),
        _input("order_number", "Order number", max_length=60),
        _input("customer_name", "Customer name", max_length=200),
        _input("customer_email", "Customer e-mail", max_length=254),
        _input("customer_locale", "Customer's language", initial="en", hint="A language code: en, nl, …",
               max_length=10),
        {"type": "input", "block_id": "delivered_on", "optional": True,
         "label": {"type": "plain_text", "text": "Delivered on"},
         "element": {"type": "datepicker", "action_id": "value"}},
        _select("priority", "Priority", [(p, p.capitalize()) for p in ("low", "normal", "high", "urgent")],
                initial="normal"),
        {"type": "divider"},
        _input("item_sku", "SKU", max_length=64),
        _input("item_product_name", "Product", max_length=200),
        _input("item_quantity", "Quantity", initial="1", max_length=6),
        _input("item_unit_price", "Unit price", hint="An amount like 19.95", max_length=12),
        _select("item_reason_code", "Reason", list(workflow.reasons.items())),
        _input("item_category", "Category", optional=True, max_length=60),
        _input("item_reason_note", "What the customer says", optional=True, multiline=True, max_length=2000),
        {"type": "divider"},
        _input("carrier", "Carrier", optional=True, max_length=60),
        _input("tracking_number", "Tracking number", optional=True, max_length=80),
    ]
    return {
        "type": "modal", "callback_id": "new_return", "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": "New return"},
        "submit": {"type": "plain_text", "text": "Create"}, "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def modal_errors(field_errors: Mapping[str, str], fields: Mapping[str, str], fallback: str) -> dict[str, str]:
    """A service's field errors keyed by the modal's block ids (others go to `fallback`), for response_action."""
    by_field = {field: block for block, field in fields.items()}
    errors: dict[str, str] = {}
    for field, message in field_errors.items():
        block = by_field.get(field)
        if block is None:
            block, message = fallback, f"{field}: {message}"
        errors[block] = cut(f"{errors[block]}; {message}" if block in errors else message, 2000)
    return errors


MOVE_FIELDS = {"resolution": "resolution", "note": "note"}


def move_modal(rma: str, stage_name: str, *, resolutions: Sequence[str], needs_resolution: bool,
               needs_note: bool, private_metadata: str) -> Block:
    """The modal a Move button opens when the stage needs a resolution or a reason."""
    blocks: list[Block] = [_section(f"Move *{esc(rma)}* to “{esc(stage_name)}”.")]
    if needs_resolution:
        blocks.append(_select("resolution", "How was it resolved?",
                              [(r, r.replace("_", " ").capitalize()) for r in resolutions]))
    blocks.append(_input("note", "Reason for the customer" if needs_note else "Note", optional=not needs_note,
                         multiline=True, max_length=5000))
    return {
        "type": "modal", "callback_id": "move_return", "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": cut(f"Move {rma}", 24)},
        "submit": {"type": "plain_text", "text": "Move"}, "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": blocks,
    }


def view_values(view: Mapping[str, Any]) -> dict[str, str]:
    """What a submitted modal holds, by block id (text, the chosen option's value, or the date)."""
    out: dict[str, str] = {}
    for block_id, actions in (view.get("state", {}).get("values") or {}).items():
        for element in actions.values():
            kind = element.get("type")
            if kind == "static_select":
                option = element.get("selected_option") or {}
                out[block_id] = str(option.get("value") or "")
            elif kind == "datepicker":
                out[block_id] = str(element.get("selected_date") or "")
            else:
                out[block_id] = str(element.get("value") or "")
    return out


def pack_blocks(blocks: Sequence[Block], limit: int = 2000) -> str:
    """A message's blocks (without its buttons) small enough for a modal's private_metadata."""
    kept = [b for b in blocks if b.get("block_id") != "actions"]
    for candidate in (kept, [b for b in kept if b.get("block_id") == "summary"]):
        packed = base64.b64encode(zlib.compress(json.dumps(candidate, separators=(",", ":")).encode())).decode()
        if len(packed) <= limit:
            return packed
    return ""


def unpack_blocks(packed: str) -> list[Block]:
    """The blocks pack_blocks packed ([] when there are none or they cannot be read)."""
    if not packed:
        return []
    try:
        data = json.loads(zlib.decompress(base64.b64decode(packed)))
    except (ValueError, zlib.error):
        return []
    return data if isinstance(data, list) else []
