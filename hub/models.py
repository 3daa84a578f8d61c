"""Every model, imported in one place so the metadata is complete."""

from hub.accounts.models import LoginAttempt, Role, Team, User, memberships
from hub.notifications.models import Notification, NotificationStatus
from hub.returns.models import Channel, Comment, Event, Priority, Resolution, Return, ReturnItem

__all__ = [
    "Channel", "Comment", "Event", "LoginAttempt", "Notification", "NotificationStatus", "Priority", "Resolution",
    "Return", "ReturnItem", "Role", "Team", "User", "memberships",
]
