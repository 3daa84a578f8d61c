"""Replies to /returns: a return in detail, a list of returns, a short result."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from integrations.slack.blocks.kit import MAX_LIST, Block, Message, context, duration, esc, link, section, when
from integrations.slack.blocks.messages import fact_fields, items_text, return_actions


def detail_message(p: Mapping[str, Any], base_url: str, now: datetime) -> Message:
    """A return for `/returns <RMA>`: stage, team, age in stage, due, assignee, items, last events, buttons."""
    rma = p["rma"]
    state = ""
    if p.get("closed"):
        state = " · closed" + (f" ({esc(p['resolution']).replace('_', ' ')})" if p.get("resolution") else "")
    elif p.get("overdue"):
        state = " · :alarm_clock: *overdue*"
    text = f"{esc(rma)}: {esc(p.get('customer_name'))}, {esc(p.get('stage_name'))}"
    blocks: list[Block] = [
        section(
            f"*{link(base_url, rma)}* — {esc(p.get('customer_name'))} ({esc(p.get('customer_email'))})\n"
            f"In “{esc(p.get('stage_name'))}” for {duration(p.get('at'), now)}{state}",
            block_id="summary",
        ),
        fact_fields(p),
    ]
    if p.get("is_blocked"):
        blocks.append(section(f":no_entry: *Blocked:* {esc(p.get('blocked_reason'))}"))
    blocks.append(section(f"*Items*\n{items_text(p.get('items') or [])}"))
    events = p.get("events") or []
    if events:
        lines = [
            f"• {when(e['at'], '{date_short} {time}')} *{esc(e['actor'])}* {esc(e['text'])} _({esc(e['channel'])})_"
            for e in events
        ]
        blocks.append(section("*Last events*\n" + "\n".join(lines)))
    blocks.append(return_actions(p, base_url, claim=p.get("may_act", True)))
    return text, blocks


def list_message(
    title: str,
    rows: Sequence[Mapping[str, Any]],
    total: int,
    *,
    base_url: str,
    now: datetime,
    more_url: str,
    empty: str,
) -> Message:
    """A list of returns (mine, a queue, the overdue ones), most urgent first, with a link to the rest."""
    text = f"{esc(title)}: {total}"
    if not rows:
        return text, [section(f"*{esc(title)}*\n{esc(empty)}")]
    lines = []
    for row in rows[:MAX_LIST]:
        flags = " :no_entry:" if row.get("is_blocked") else ""
        overdue = " :alarm_clock:" if row.get("overdue") else ""
        who = esc(row["assignee"]) if row.get("assignee") else "_unassigned_"
        lines.append(
            f"• {link(base_url, row['rma'])} {esc(row.get('customer_name'))} — {esc(row.get('stage_name'))}, "
            f"due {when(row.get('due_at'))}{overdue}{flags} · {who}"
        )
    blocks = [section(f"*{esc(title)}* ({total})\n" + "\n".join(lines))]
    if total > len(lines):
        blocks.append(context(f"Showing {len(lines)} of {total}. <{more_url}|See them all on the board>"))
    return text, blocks


def result_message(text: str, *, ok: bool = True, usage: str | None = None) -> Message:
    """A short ephemeral answer: done, or what went wrong (with the usage when it helps)."""
    icon = ":white_check_mark:" if ok else ":x:"
    body = f"{icon} {esc(text)}" + (f"\n{usage}" if usage else "")
    return esc(text), [section(body)]
