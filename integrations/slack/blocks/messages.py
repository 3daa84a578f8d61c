"""The outbox's Slack messages (handoffs, alerts, mentions, digests, activity), and a message after a button."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Any

from hub.alerts.scan import AlertPayload
from hub.core.timefmt import short_date
from hub.returns.notices import HandoffPayload, MentionPayload
from integrations.slack.blocks.kit import (
    MAX_BLOCKS,
    Block,
    Message,
    action_value,
    board_url,
    button,
    context,
    cut,
    esc,
    header,
    link,
    return_url,
    section,
    when,
)

MAX_MOVE_BUTTONS = 3
SLACK_USER_ID = re.compile(r"[UW][A-Z0-9]{2,30}")  # what alone may go inside <@…>: anything else is shown as text
SNOOZE_HOURS = 4

LEVELS = {
    "due_soon": (":hourglass_flowing_sand:", "Due soon"),
    "overdue": (":alarm_clock:", "Overdue"),
    "escalated": (":rotating_light:", "Escalated"),
    "promise_broken": (":warning:", "Promise to the customer broken"),
}


# --- a return: facts, items and buttons ----------------------------------------------------------


def return_actions(
    p: Mapping[str, Any], base_url: str, *, claim: bool = True, moves: bool = True, snooze: bool = False
) -> Block:
    """Claim, Move to <next stage>, (Snooze) and Open in board, for the stage the message is about."""
    rma, stage = p["rma"], p.get("stage")
    value = action_value(rma, stage)
    elements = []
    if claim and p.get("team") and not p.get("assignee"):
        elements.append(button("Claim", "claim", value=value, style="primary"))
    if moves:
        room = MAX_MOVE_BUTTONS - (1 if snooze else 0)  # at most five buttons side by side
        for nxt in list(p.get("next_stages") or [])[:room]:
            elements.append(button(f"Move to {nxt['name']}", f"move:{nxt['key']}", value=value))
    if snooze and p.get("team"):
        elements.append(button(f"Remind me in {SNOOZE_HOURS} hours", "snooze", value=value))
    elements.append(button("Open in board", "open_board", value=rma, url=return_url(base_url, rma)))
    return {"type": "actions", "block_id": "actions", "elements": elements}


def items_text(items: Sequence[Mapping[str, Any]], limit: int = 10) -> str:
    """The return's product lines, one bullet each, at most `limit` of them."""
    lines = [
        f"• {esc(i.get('quantity', 1))} × `{esc(i.get('sku', ''))}` {esc(i.get('product_name', ''))}"
        + (f" — {esc(i.get('reason') or i.get('reason_code'))}" if i.get("reason") or i.get("reason_code") else "")
        for i in items[:limit]
    ]
    if len(items) > limit:
        lines.append(f"… and {len(items) - limit} more")
    return "\n".join(lines) or "_no items_"


def fact_fields(p: Mapping[str, Any]) -> Block:
    """The return's facts as a section's fields: customer, order, stage, due, assignee, promise."""
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
    return [section(f":speech_balloon: *{esc(comment.get('author'))}* wrote:\n>{esc(body)}")]


# --- notifications -------------------------------------------------------------------------------


def handoff_message(p: HandoffPayload, base_url: str) -> Message:
    """A return handed to the team that now owns it: who, from where, the last comment, the due date, buttons."""
    rma, team = p["rma"], p.get("team_name") or "your team"
    origin = (
        f"from {esc(p['from_team_name'])}" if p.get("from_team_name") else f"from “{esc(p.get('from_stage_name'))}”"
    )
    who = f" by {esc(p['actor'])}" if p.get("actor") else ""
    text = f"{esc(rma)} handed to {esc(team)} ({esc(p.get('stage_name'))}){who}"
    blocks: list[Block] = [
        section(
            f":inbox_tray: *{link(base_url, rma)}* is now *{esc(team)}*'s: "
            f"“{esc(p.get('stage_name'))}”, handed over {origin}{who}.",
            block_id="summary",
        ),
        fact_fields(p),
        section(f"*Items*\n{items_text(p.get('items') or [])}"),
    ]
    if p.get("note"):
        blocks.append(section(f"*Note*\n>{esc(cut(str(p['note']), 1000))}"))
    blocks += _comment_block(p.get("last_comment"))
    blocks.append(return_actions(p, base_url))
    return text, blocks


def alert_message(p: AlertPayload, base_url: str) -> Message:
    """A delay alert: the handoff message's facts and buttons under a header that names the level."""
    emoji, label = LEVELS.get(str(p.get("level")), (":alarm_clock:", str(p.get("level", "Alert")).replace("_", " ")))
    rma = p["rma"]
    late = f" ({p['late_by']})" if p.get("late_by") else ""
    text = f"{esc(label)}: {esc(rma)} in {esc(p.get('stage_name'))}{esc(late)}"
    blocks: list[Block] = [
        header(f"{label}: {rma}"),
        section(
            f"{emoji} *{link(base_url, rma)}* in “{esc(p.get('stage_name'))}”"
            + (f" ({esc(p['team_name'])})" if p.get("team_name") else "")
            + (f" is late by {esc(p['late_by'])}." if p.get("late_by") else "."),
            block_id="summary",
        ),
        fact_fields(p),
        section(f"*Items*\n{items_text(p.get('items') or [])}"),
    ]
    blocks.append(return_actions(p, base_url, snooze=True))
    return text, blocks


def mention_message(p: MentionPayload, base_url: str) -> Message:
    """Someone @mentioned the recipient in a comment."""
    rma = p["rma"]
    text = f"{esc(p.get('author'))} mentioned you on {esc(rma)}"
    body = cut(str(p.get("body", "")), 2000).replace("\n", "\n>")
    blocks = [
        section(
            f":speech_balloon: *{esc(p.get('author'))}* mentioned you on *{link(base_url, rma)}* "
            f"({esc(p.get('customer_name'))}, “{esc(p.get('stage_name'))}”):\n>{esc(body)}"
        ),
        {
            "type": "actions",
            "block_id": "actions",
            "elements": [button("Open in board", "open_board", value=rma, url=return_url(base_url, rma))],
        },
    ]
    return text, blocks


def _digest_rows(rows: Sequence[Mapping[str, Any]], total: int, base_url: str, limit: int = 10) -> str:
    lines = []
    for row in rows[:limit]:
        who = f" · {esc(row['assignee'])}" if row.get("assignee") else ""
        lines.append(
            f"• {link(base_url, row['rma'])} {esc(row.get('customer_name'))} — "
            f"{esc(row.get('stage_name'))}, due {when(row.get('due_at'))}{who}"
        )
    if total > len(lines):
        lines.append(f"… and {total - len(lines)} more")
    return "\n".join(lines)


def digest_message(p: Mapping[str, Any], base_url: str) -> Message:
    """A team's daily digest: open count, then overdue, due today, blocked and unassigned returns."""
    team_name, team = p.get("team_name") or p.get("team") or "Team", p.get("team") or ""
    try:
        d = date.fromisoformat(str(p.get("date")))
        day = short_date(d)
    except ValueError:
        day = str(p.get("date", ""))
    sections: tuple[tuple[str, str, str, dict[str, str]], ...] = (
        ("overdue", ":alarm_clock:", "overdue", {"overdue": "1"}),
        ("due_today", ":calendar:", "due today", {}),
        ("blocked", ":no_entry:", "blocked", {"blocked": "1"}),
        ("unassigned", ":bust_in_silhouette:", "unassigned", {"assignee": "unassigned"}),
    )
    totals = {key: int(p.get(f"{key}_count", len(p.get(key) or []))) for key, _, _, _ in sections}
    counts = ", ".join(f"{totals[key]} {label}" for key, _, label, _ in sections)
    text = f"{esc(team_name)} digest for {esc(day)}: {esc(p.get('open_count', 0))} open ({esc(counts)})"
    blocks: list[Block] = [
        header(f"{team_name} — {day}"),
        section(f"*{esc(p.get('open_count', 0))}* open returns: {esc(counts)}.", block_id="summary"),
    ]
    for key, emoji, label, filters in sections:
        rows = p.get(key) or []
        if rows:
            blocks.append(
                section(f"{emoji} *{label.capitalize()}* ({totals[key]})\n{_digest_rows(rows, totals[key], base_url)}")
            )
            blocks.append(context(f"<{board_url(base_url, team=team, **filters)}|See them on the board>"))
    if len(blocks) == 2:
        blocks.append(section("Nothing overdue, due today, blocked or unassigned. :tada:"))
    blocks.append(
        {
            "type": "actions",
            "block_id": "actions",
            "elements": [button("Open the board", "open_board", value=team, url=board_url(base_url, team=team))],
        }
    )
    return text, blocks[:MAX_BLOCKS]


def activity_message(p: Mapping[str, Any], base_url: str) -> Message:
    """A change someone made from Slack, told to the team that owned the return."""
    rma = p["rma"]
    slack_id = str(p.get("actor_slack_id") or "")
    who = f"<@{slack_id}>" if SLACK_USER_ID.fullmatch(slack_id) else f"*{esc(p.get('actor'))}*"
    text = f"{esc(p.get('actor'))} {esc(p.get('what'))} ({esc(rma)})"
    blocks = [section(f"{who} {esc(p.get('what'))} — *{link(base_url, rma)}*, {esc(p.get('customer_name'))}")]
    if p.get("note"):
        blocks.append(section(f">{esc(cut(str(p['note']), 1000))}"))
    blocks.append(context(f"from Slack · {when(p.get('at'))}"))
    return text, blocks


# each builder reads its own payload type; the dispatcher hands them the stored JSON of that kind
BUILDERS: dict[str, Callable[[Any, str], Message]] = {
    "handoff": handoff_message,
    "alert": alert_message,
    "mention": mention_message,
    "digest": digest_message,
    "activity": activity_message,
}


def notification_message(kind: str, payload: Mapping[str, Any], base_url: str) -> Message:
    """The Slack message of an outbox notification; KeyError for a kind Slack has no message for."""
    return BUILDERS[kind](payload, base_url)


# --- after a button: the same message, with who did what -----------------------------------------


def updated_message(blocks: Sequence[Block], status: str, *, drop: Callable[[str], bool]) -> list[Block]:
    """The message's blocks with a status line added and the buttons `drop` says are spent removed."""
    kept = [b for b in blocks if b.get("block_id") != "actions"]
    statuses = sum(1 for b in kept if str(b.get("block_id", "")).startswith("status-"))
    kept.append({**context(status), "block_id": f"status-{statuses + 1}"})
    actions = next((b for b in blocks if b.get("block_id") == "actions"), None)
    if actions is not None:
        elements = [e for e in actions.get("elements", []) if not drop(str(e.get("action_id", "")))]
        if elements:
            kept.append({**actions, "elements": elements})
    return kept[-MAX_BLOCKS:]
