"""Block Kit builders: pure functions from plain data (outbox payloads, query rows) to Slack messages and views.

A message is (text, blocks): `text` is the notification and screen-reader fallback. Buttons carry the RMA and
the stage the message is about, so a click on a message that events have overtaken changes nothing.

`kit` holds the shared toolkit; `messages` the outbox's messages, `replies` the answers to /returns, `home` the
App Home tab and `modals` the forms. Their public names are re-exported here: `blocks.handoff_message(...)`.
"""

from __future__ import annotations

from integrations.slack.blocks.home import home_view, unmapped_home_view
from integrations.slack.blocks.kit import (
    MAX_BLOCKS,
    MAX_BUTTON,
    MAX_LIST,
    MAX_SECTION,
    Block,
    Message,
    action_value,
    board_url,
    cut,
    duration,
    esc,
    pack_blocks,
    read_action_value,
    return_url,
    unpack_blocks,
    when,
)
from integrations.slack.blocks.messages import (
    BUILDERS,
    LEVELS,
    MAX_MOVE_BUTTONS,
    SNOOZE_HOURS,
    activity_message,
    alert_message,
    digest_message,
    handoff_message,
    mention_message,
    notification_message,
    return_actions,
    updated_message,
)
from integrations.slack.blocks.modals import (
    MOVE_FIELDS,
    NEW_RETURN_FIELDS,
    modal_errors,
    move_modal,
    new_return_modal,
    view_values,
)
from integrations.slack.blocks.replies import detail_message, list_message, result_message

__all__ = [
    "BUILDERS",
    "Block",
    "LEVELS",
    "MAX_BLOCKS",
    "MAX_BUTTON",
    "MAX_LIST",
    "MAX_MOVE_BUTTONS",
    "MAX_SECTION",
    "MOVE_FIELDS",
    "Message",
    "NEW_RETURN_FIELDS",
    "SNOOZE_HOURS",
    "action_value",
    "activity_message",
    "alert_message",
    "board_url",
    "cut",
    "detail_message",
    "digest_message",
    "duration",
    "esc",
    "handoff_message",
    "home_view",
    "list_message",
    "mention_message",
    "modal_errors",
    "move_modal",
    "new_return_modal",
    "notification_message",
    "pack_blocks",
    "read_action_value",
    "result_message",
    "return_actions",
    "return_url",
    "unmapped_home_view",
    "unpack_blocks",
    "updated_message",
    "view_values",
    "when",
]
