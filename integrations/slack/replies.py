"""Where a button was clicked, and how to update that message or tell the clicker something only they see."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from integrations.slack import blocks
from integrations.slack.context import SLACK_CALL_ERRORS

log = logging.getLogger(__name__)


@dataclass
class Where:
    """The message a button sits on: a channel message (chat.update), or an ephemeral reply (response_url)."""

    user: str
    channel: str | None = None
    ts: str | None = None
    ephemeral: bool = False
    response_url: str | None = None
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Where:
        """From a block_actions payload."""
        container = body.get("container") or {}
        message = body.get("message") or {}
        return cls(
            user=body["user"]["id"],
            channel=(body.get("channel") or {}).get("id") or container.get("channel_id"),
            ts=message.get("ts") or container.get("message_ts"),
            ephemeral=bool(container.get("is_ephemeral")),
            response_url=body.get("response_url"),
            text=message.get("text") or "",
            blocks=list(message.get("blocks") or []),
        )

    def metadata(self) -> dict[str, Any]:
        """What a modal opened from this message needs to update it when submitted."""
        return {
            "user": self.user,
            "channel": self.channel,
            "ts": self.ts,
            "ephemeral": self.ephemeral,
            "response_url": self.response_url,
            "text": self.text[:200],
            "blocks": blocks.pack_blocks(self.blocks),
        }

    @classmethod
    def from_metadata(cls, meta: Mapping[str, Any]) -> Where:
        """Back from metadata()."""
        return cls(
            user=meta.get("user") or "",
            channel=meta.get("channel"),
            ts=meta.get("ts"),
            ephemeral=bool(meta.get("ephemeral")),
            response_url=meta.get("response_url"),
            text=meta.get("text") or "",
            blocks=blocks.unpack_blocks(meta.get("blocks") or ""),
        )


def update_message(
    client: WebClient,
    where: Where,
    status: str,
    *,
    drop: Callable[[str], bool],
    keep: list[dict[str, Any]] | None = None,
) -> None:
    """Show on the message itself who did what and when; spent buttons go (`keep` adds buttons back)."""
    new_blocks = blocks.updated_message(where.blocks, status, drop=drop)
    if keep and not any(b.get("block_id") == "actions" for b in new_blocks):
        new_blocks.append({"type": "actions", "block_id": "actions", "elements": keep})
    text = where.text or status
    try:
        if where.ephemeral and where.response_url:
            WebhookClient(where.response_url, timeout=10).send(text=text, blocks=new_blocks, replace_original=True)
        elif where.channel and where.ts:
            client.chat_update(channel=where.channel, ts=where.ts, text=text, blocks=new_blocks)
    except SLACK_CALL_ERRORS as exc:
        log.warning("could not update the Slack message %s:%s: %s", where.channel, where.ts, exc)


def tell(client: WebClient, where: Where, text: str) -> None:
    """A message only the clicker sees, next to the message they clicked on."""
    body = blocks.result_message(text, ok=False)
    try:
        if where.ephemeral and where.response_url:
            WebhookClient(where.response_url, timeout=10).send(
                text=body[0], blocks=body[1], response_type="ephemeral", replace_original=False
            )
        elif where.channel:
            client.chat_postEphemeral(channel=where.channel, user=where.user, text=body[0], blocks=body[1])
    except SLACK_CALL_ERRORS as exc:
        log.warning("could not tell Slack user %s: %s", where.user, exc)
