"""The outbox's Slack adapter: chat.postMessage, at most about one message per second per channel.

Failures become DeliveryErrors the dispatcher understands: a 429 says when to retry (Retry-After), a 5xx or
a network error is retried with backoff, and what retrying cannot fix (an unknown channel, a bot not in the
channel, a revoked token) is permanent, with what the admin should do.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from hub.core.config import Settings
from hub.notifications.delivery import DeliveryError
from hub.notifications.models import Notification
from hub.workflow import Workflow
from integrations.slack.blocks import BUILDERS, notification_message
from integrations.slack.context import TRANSPORT_ERRORS, api_url

# errors that the same request will get again, however often it is retried
PERMANENT_ERRORS = {
    "channel_not_found": "the channel does not exist (check slack_channel in the workflow config)",
    "not_in_channel": "the app is not in the channel: invite it there (/invite @Returns Hub)",
    "is_archived": "the channel is archived",
    "channel_is_archived": "the channel is archived",
    "invalid_auth": "SLACK_BOT_TOKEN is not valid",
    "not_authed": "SLACK_BOT_TOKEN is missing",
    "account_inactive": "the app's token belongs to a deactivated account or uninstalled app",
    "token_revoked": "SLACK_BOT_TOKEN was revoked: reinstall the app and set the new token",
    "token_expired": "SLACK_BOT_TOKEN has expired",
    "no_permission": "the app may not post there",
    "missing_scope": "the app lacks a scope (see the manifest): reinstall it",
    "restricted_action": "the workspace does not let the app post there",
    "restricted_action_read_only_channel": "the channel is read-only",
    "user_not_found": "no such Slack user",
    "cannot_dm_bot": "a bot cannot be messaged",
    "messages_tab_disabled": "the app's Messages tab is off (see the manifest)",
    "invalid_blocks": "Slack refused the message's blocks",
    "invalid_blocks_format": "Slack refused the message's blocks",
    "msg_too_long": "the message is too long",
    "no_text": "the message is empty",
    "invalid_arguments": "Slack refused the request's arguments",
    "not_allowed_token_type": "SLACK_BOT_TOKEN is not a bot token (xoxb-…)",
    "ekm_access_denied": "the workspace's key management refused it",
}


class Pace(Protocol):
    """Waits for a channel's next free slot (hub.notifications.pace.SharedPace keeps it in the database, so
    every dispatcher process shares it)."""

    def wait(self, channel: str) -> float: ...


class ChannelThrottle:
    """At most one message per `interval` seconds per channel, within one process (tests, or no database)."""

    def __init__(
        self,
        interval: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.interval = interval
        self._clock = clock
        self._sleep = sleep
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, channel: str) -> float:
        """Wait for the channel's next free slot and take it; returns how long it waited."""
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(channel, now))
            self._next[channel] = slot + self.interval
        delay = slot - now
        if delay > 0:
            self._sleep(delay)
        return delay


THROTTLE = ChannelThrottle()  # without a shared pace: adapters are built per run, the pace is kept across runs


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name.lower():
            return str(value[0] if isinstance(value, list | tuple) else value)
    return None


def delivery_error(exc: SlackApiError, recipient: str) -> DeliveryError:
    """What the dispatcher should make of a Slack API error."""
    response = exc.response
    data: Mapping[str, Any]
    if isinstance(response, Mapping) and not hasattr(response, "status_code"):
        status, headers, data = response.get("status"), response.get("headers"), {}
    else:
        status, headers = getattr(response, "status_code", None), getattr(response, "headers", {})
        data = response.data if isinstance(getattr(response, "data", None), dict) else {}
    error = str(data.get("error") or "")
    if status == 429 or error == "ratelimited":
        raw = _header(headers, "Retry-After")
        retry_after = float(raw) if raw and raw.strip().replace(".", "", 1).isdigit() else 30.0
        return DeliveryError(
            f"Slack rate limit for {recipient}: retry after {retry_after:g} s", retry_after=retry_after
        )
    if status is not None and int(status) >= 500:
        return DeliveryError(f"Slack answered HTTP {status}" + (f" ({error})" if error else ""))
    if error in PERMANENT_ERRORS:
        return DeliveryError(
            f"Slack refused the message to {recipient}: {error}: {PERMANENT_ERRORS[error]}", permanent=True
        )
    return DeliveryError(f"Slack refused the message to {recipient}: {error or f'HTTP {status}'}")


class SlackDelivery:
    """Posts handoffs, delay alerts, digests, mentions and Slack activity to channels and people."""

    channel = "slack"

    def __init__(
        self,
        settings: Settings,
        workflow: Workflow,
        *,
        throttle: Pace | None = None,
        client: WebClient | None = None,
    ) -> None:
        self.base_url = settings.base_url
        self.workflow = workflow
        self.throttle: Pace = throttle or THROTTLE
        # no client-side retries: the dispatcher retries, with backoff, and never loses the message
        self.client = client or WebClient(
            token=settings.slack_bot_token, base_url=api_url(settings), timeout=15, retry_handlers=[]
        )

    def describe(self) -> str:
        """Where messages go, for logs."""
        return f"Slack Web API at {self.client.base_url}"

    def send(self, notification: Notification) -> str | None:
        """Post one notification; returns "channel_id:ts" of the message, so it can be updated later."""
        if notification.kind not in BUILDERS:
            raise DeliveryError(f"Slack has no message for notifications of kind {notification.kind!r}", permanent=True)
        try:
            text, blocks = notification_message(notification.kind, notification.payload, self.base_url)
        except (KeyError, TypeError, ValueError) as exc:
            raise DeliveryError(
                f"the {notification.kind} notification's payload cannot be shown: {exc!r}", permanent=True
            ) from None
        recipient = notification.recipient
        self.throttle.wait(recipient)
        try:
            response = self.client.chat_postMessage(
                channel=recipient, text=text, blocks=blocks, unfurl_links=False, unfurl_media=False
            )
        except SlackApiError as exc:
            raise delivery_error(exc, recipient) from None
        except TRANSPORT_ERRORS as exc:
            raise DeliveryError(f"cannot reach Slack at {self.client.base_url}: {exc}") from None
        return f"{response.get('channel')}:{response.get('ts')}"
