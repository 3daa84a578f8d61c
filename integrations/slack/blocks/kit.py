"""The Block Kit toolkit the builders share: escaping and cutting text, dates and durations, links, the block
primitives, and the codecs for what buttons and modals carry (a button's value, a message's packed blocks).
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from hub.core.timefmt import short_time
from hub.returns.timeline import format_duration

Block = dict[str, Any]
Message = tuple[str, list[Block]]

MAX_BLOCKS = 50  # per message (a modal or the Home tab may have 100)
MAX_SECTION = 3000
MAX_BUTTON = 75
MAX_LIST = 15  # rows in a list before "and N more"


# --- text ----------------------------------------------------------------------------------------


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
    fallback = short_time(dt, ZoneInfo("UTC"), named=True)  # the one short format, in UTC: named
    return f"<!date^{int(dt.timestamp())}^{fmt}|{fallback}>"


def duration(since: str | datetime | None, now: datetime) -> str:
    """How long ago, in the one duration wording: 40m, 5h, 2d 3h."""
    start = _dt(since)
    if start is None:
        return "—"
    return format_duration(max(now - start, timedelta(0)))


# --- links ---------------------------------------------------------------------------------------


def return_url(base_url: str, rma: str) -> str:
    """The return's page on the board."""
    return f"{base_url}/returns/{quote(rma)}"


def board_url(base_url: str, **filters: str) -> str:
    """The board, filtered."""
    args = {k: v for k, v in filters.items() if v}
    return f"{base_url}/board" + (f"?{urlencode(args)}" if args else "")


def link(base_url: str, rma: str) -> str:
    """The RMA as a link to its page on the board (mrkdwn)."""
    return f"<{return_url(base_url, rma)}|{esc(rma)}>"


# --- blocks --------------------------------------------------------------------------------------


def section(text: str, block_id: str | None = None) -> Block:
    """A mrkdwn section block, cut to Slack's limit."""
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": cut(text, MAX_SECTION)}}
    if block_id:
        block["block_id"] = block_id
    return block


def context(*texts: str) -> Block:
    """A context block: small print, one element per non-empty text."""
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": cut(t, MAX_SECTION)} for t in texts if t]}


def header(text: str) -> Block:
    """A header block (plain text, cut to 150 characters)."""
    return {"type": "header", "text": {"type": "plain_text", "text": cut(text, 150), "emoji": True}}


def button(
    text: str, action_id: str, *, value: str | None = None, url: str | None = None, style: str | None = None
) -> Block:
    """A button: an action (with a value) or a link (with a url)."""
    element: Block = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": cut(text, MAX_BUTTON), "emoji": True},
    }
    if value is not None:
        element["value"] = value
    if url is not None:
        element["url"] = url
    if style:
        element["style"] = style
    return element


# --- what buttons and modals carry ---------------------------------------------------------------


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
