"""Every model, imported in one place so the metadata is complete."""

from hub.accounts.models import LoginAttempt, LoginSession, Role, Team, User, memberships
from hub.core.leases import JobRun
from hub.notifications.models import Notification, NotificationStatus, ProcessedRequest, SendPace
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
    "JobRun",
    "LoginAttempt",
    "LoginSession",
    "Notification",
    "NotificationStatus",
    "Priority",
    "ProcessedRequest",
    "Resolution",
    "Return",
    "SendPace",
    "ReturnItem",
    "Role",
    "Team",
    "User",
    "memberships",
]
