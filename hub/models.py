"""Every model, imported in one place so the metadata is complete."""

from hub.accounts.models import LoginAttempt, Role, Team, User, memberships
from hub.notifications.models import Notification, NotificationStatus, ProcessedRequest
from hub.returns.models import (
    AlertLevel,
    Channel,
    Comment,
    Event,
    Priority,
    Resolution,
    Return,
    ReturnItem,
)

__all__ = [
    "AlertLevel",
    "Channel",
    "Comment",
    "Event",
    "LoginAttempt",
    "Notification",
    "NotificationStatus",
    "Priority",
    "ProcessedRequest",
    "Resolution",
    "Return",
    "ReturnItem",
    "Role",
    "Team",
    "User",
    "memberships",
]
