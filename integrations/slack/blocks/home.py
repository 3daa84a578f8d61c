"""The App Home tab."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from integrations.slack.blocks.kit import Block, board_url, button, context, esc, header, section, when
from integrations.slack.blocks.replies import list_message


def home_view(
    name: str,
    assigned: tuple[Sequence[Mapping[str, Any]], int],
    overdue: tuple[Sequence[Mapping[str, Any]], int],
    queues: Sequence[Mapping[str, Any]],
    *,
    base_url: str,
    now: datetime,
    command: str,
) -> Block:
    """The Home tab: the user's assigned returns, their teams' overdue ones and the queue sizes."""
    blocks: list[Block] = [
        header(f"Returns Hub — {name}"),
        context(f"Updated {when(now)} · `{command} help` lists the commands"),
        {"type": "divider"},
    ]
    if queues:
        lines = [
            f"• *{esc(q['team_name'])}*: {q['open']} open, {q['unassigned']} unassigned, "
            f"{q['overdue']} overdue — <{board_url(base_url, team=q['team'])}|board>"
            for q in queues
        ]
        blocks.append(section("*Team queues*\n" + "\n".join(lines), block_id="queues"))
    for title, (rows, total), empty, block_id, more in (
        ("Assigned to you", assigned, "Nothing is assigned to you.", "assigned", {"assignee": "mine"}),
        ("Overdue in your teams", overdue, "Nothing is overdue. :tada:", "overdue", {"overdue": "1"}),
    ):
        _, listed = list_message(
            title, rows, total, base_url=base_url, now=now, more_url=board_url(base_url, **more), empty=empty
        )
        listed[0]["block_id"] = block_id
        blocks += listed
    blocks.append(
        {
            "type": "actions",
            "block_id": "actions",
            "elements": [button("Open the board", "open_board", value="board", url=board_url(base_url))],
        }
    )
    return {"type": "home", "blocks": blocks[:100]}


def unmapped_home_view(message: str) -> Block:
    """The Home tab of someone who is not (yet) a hub user."""
    return {"type": "home", "blocks": [header("Returns Hub"), section(esc(message), block_id="unmapped")]}
