"""What a change tells whom: handoffs to teams, updates to customers, mentions to people.

Services call these in the same transaction as the change, so a rolled-back change sends nothing
and a committed one is delivered by the dispatcher, however long Slack or the mail server is away.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.errors import InvalidTransition, NotFound
from hub.notifications.models import Notification, NotificationStatus
from hub.returns.models import Comment, Return
from hub.workflow import Stage, Workflow


def enqueue(session: Session, *, channel: str, kind: str, recipient: str, payload: dict[str, Any],
            r: Return | None = None, now: datetime) -> Notification:
    """Write one notification to the outbox."""
    n = Notification(channel=channel, kind=kind, recipient=recipient, return_id=r.id if r else None,
                     payload=payload, created_at=now, next_attempt_at=now)
    session.add(n)
    return n


def return_facts(r: Return, workflow: Workflow) -> dict[str, Any]:
    """A snapshot of what a message about a return shows, as it was when the change was made."""
    stage = workflow.stages.get(r.stage)
    team = workflow.team_of(r.stage) if stage and stage.team else None
    return {
        "rma": r.rma, "order_number": r.order_number, "customer_name": r.customer_name,
        "customer_email": r.customer_email, "locale": r.customer_locale, "status_token": r.status_token,
        "stage": r.stage, "stage_name": stage.name if stage else r.stage,
        "at": (r.stage_entered_at.isoformat() if r.stage_entered_at else None),
        "team": team.key if team else None, "team_name": team.name if team else None,
        "due_at": r.stage_due_at.isoformat() if r.stage_due_at else None,
        "promised_by": r.promised_by.isoformat(),
        "assignee": r.assignee.name if r.assignee else None,
        "resolution": r.resolution.value if r.resolution else None,
        "items": [{"sku": i.sku, "product_name": i.product_name, "quantity": i.quantity,
                   "reason_code": i.reason_code, "reason": workflow.reasons.get(i.reason_code, i.reason_code)}
                  for i in r.items],
    }


def _last_comment(r: Return) -> dict[str, str] | None:
    comments: list[Comment] = list(r.comments)
    if not comments:
        return None
    c = comments[-1]
    return {"author": c.author.name if c.author else "Returns Hub", "body": c.body[:500]}


def notify_stage_entered(session: Session, workflow: Workflow, r: Return, src: Stage | None, dst: Stage, *,
                         actor_name: str, note: str | None, now: datetime) -> list[Notification]:
    """A return entered `dst`: tell its team when it is a handoff, and the customer when the stage says so."""
    out: list[Notification] = []
    facts = return_facts(r, workflow)
    team = workflow.teams.get(dst.team) if dst.team else None
    from_team = workflow.teams.get(src.team) if src and src.team else None
    if team is not None and (from_team is None or from_team.key != team.key) and src is not None:
        payload = {
            **facts, "from_stage_name": src.name, "from_team_name": from_team.name if from_team else None,
            "actor": actor_name, "note": note, "last_comment": _last_comment(r),
            "next_stages": [{"key": k, "name": workflow.stages[k].name} for k in dst.next],
        }
        addresses = {"email": team.email, "slack": team.slack_channel}
        for channel in dst.notify:
            if addresses.get(channel):
                out.append(enqueue(session, channel=channel, kind="handoff", recipient=addresses[channel],
                                   payload=payload, r=r, now=now))
    if dst.customer_message:
        payload = {**facts, "message": dst.customer_message, "note": note}
        out.append(enqueue(session, channel="email", kind="customer_update", recipient=r.customer_email,
                           payload=payload, r=r, now=now))
    return out


def notify_mentions(session: Session, workflow: Workflow, r: Return, comment: Comment, mentioned: list[User], *,
                    now: datetime) -> list[Notification]:
    """Tell each @mentioned user about the comment: by e-mail, and in Slack when they are linked there."""
    out: list[Notification] = []
    author = comment.author.name if comment.author else "Returns Hub"
    for user in mentioned:
        if comment.author_id == user.id:
            continue  # mentioning yourself tells nobody
        payload = {**return_facts(r, workflow), "author": author, "body": comment.body[:2000],
                   "recipient_name": user.name}
        out.append(enqueue(session, channel="email", kind="mention", recipient=user.email, payload=payload, r=r,
                           now=now))
        if user.slack_user_id:
            out.append(enqueue(session, channel="slack", kind="mention", recipient=user.slack_user_id,
                               payload=payload, r=r, now=now))
    return out


def retry_notification(session: Session, notification_id: int, now: datetime) -> Notification:
    """Put a failed or dead notification back in line for an attempt now (an admin's "retry now")."""
    n = session.get(Notification, notification_id)
    if n is None:
        raise NotFound(f"no notification {notification_id}")
    if n.status in (NotificationStatus.SENT, NotificationStatus.SENDING):
        raise InvalidTransition(f"notification {notification_id} is {n.status.value}; there is nothing to retry")
    if n.status in (NotificationStatus.DEAD, NotificationStatus.SKIPPED):
        n.attempts = 0
    n.status, n.next_attempt_at = NotificationStatus.PENDING, now
    session.flush()
    return n
