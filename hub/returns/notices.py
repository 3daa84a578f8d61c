"""What a change to a return tells whom: handoffs to teams, updates to customers, mentions to people.

Services call these in the same transaction as the change, so a rolled-back change sends nothing and a
committed one is delivered by the dispatcher, however long Slack or the mail server is away. The facts
are a snapshot: a message shows the return as it was when the change was made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypedDict

from sqlalchemy.orm import Session

from hub.accounts.models import User
from hub.core.config import customer_language
from hub.notifications.models import Notification
from hub.notifications.outbox import enqueue
from hub.returns.models import Comment, Resolution, Return
from hub.workflow import RejectionReason, Stage, Workflow


class ItemFacts(TypedDict):
    """One returned product line, as messages show it."""

    sku: str
    product_name: str
    quantity: int
    reason_code: str
    reason: str


class ReturnFacts(TypedDict):
    """What every message about a return shows (outbox payloads, Slack and e-mail read these keys)."""

    rma: str
    order_number: str
    customer_name: str
    customer_email: str
    locale: str
    status_token: str
    stage: str
    stage_name: str
    at: str | None
    team: str | None
    team_name: str | None
    due_at: str | None
    promised_by: str
    assignee: str | None
    resolution: str | None
    items: list[ItemFacts]


class StageRef(TypedDict):
    """A stage a message offers to move the return to."""

    key: str
    name: str


class CommentFacts(TypedDict):
    """The last comment a handoff message shows."""

    author: str
    body: str


class HandoffPayload(ReturnFacts):
    """A return handed to another team (outbox kind "handoff"; e-mail and Slack)."""

    from_stage_name: str
    from_team_name: str | None
    actor: str
    note: str | None
    last_comment: CommentFacts | None
    next_stages: list[StageRef]


class CustomerUpdatePayload(ReturnFacts):
    """What the customer is told on entering a stage (outbox kind "customer_update"; e-mail)."""

    message: str
    note: str | None
    rejection_reason: str | None  # the key of why the return was not accepted
    rejection_text: str | None  # that reason as the customer reads it, in their language
    return_address: list[str]  # where the parcel goes, one line each ([]: the shop has not configured it)


class MentionPayload(ReturnFacts):
    """Someone @mentioned the recipient in a comment (outbox kind "mention"; e-mail and Slack)."""

    author: str
    body: str
    recipient_name: str


def next_stages(workflow: Workflow, stage: Stage | None) -> list[StageRef]:
    """The stages a return in `stage` may move to, as messages offer them."""
    return [{"key": k, "name": workflow.stages[k].name} for k in (stage.next if stage else ())]


class _ItemLike(Protocol):
    @property
    def sku(self) -> str: ...
    @property
    def product_name(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def reason_code(self) -> str: ...


@dataclass(frozen=True)
class ReturnSnapshot:
    """The columns the facts are made of: from a loaded Return, or from a row the delay scan selected."""

    rma: str
    order_number: str
    customer_name: str
    customer_email: str
    customer_locale: str
    status_token: str
    stage: str
    stage_entered_at: datetime | None
    stage_due_at: datetime | None
    promised_by: datetime
    resolution: Resolution | None
    assignee_name: str | None
    items: Sequence[_ItemLike]

    @classmethod
    def of(cls, r: Return) -> ReturnSnapshot:
        """The snapshot of a loaded return."""
        return cls(
            r.rma,
            r.order_number,
            r.customer_name,
            r.customer_email,
            r.customer_locale,
            r.status_token,
            r.stage,
            r.stage_entered_at,
            r.stage_due_at,
            r.promised_by,
            r.resolution,
            r.assignee.name if r.assignee else None,
            list(r.items),
        )


def facts_of(s: ReturnSnapshot, workflow: Workflow) -> ReturnFacts:
    """The facts of a snapshot, with the workflow's names for its stage, team and reasons."""
    stage = workflow.stages.get(s.stage)
    team = workflow.team_of(s.stage) if stage and stage.team else None
    return {
        "rma": s.rma,
        "order_number": s.order_number,
        "customer_name": s.customer_name,
        "customer_email": s.customer_email,
        "locale": s.customer_locale,
        "status_token": s.status_token,
        "stage": s.stage,
        "stage_name": stage.name if stage else s.stage,
        "at": s.stage_entered_at.isoformat() if s.stage_entered_at else None,
        "team": team.key if team else None,
        "team_name": team.name if team else None,
        "due_at": s.stage_due_at.isoformat() if s.stage_due_at else None,
        "promised_by": s.promised_by.isoformat(),
        "assignee": s.assignee_name,
        "resolution": s.resolution.value if s.resolution else None,
        "items": [
            {
                "sku": i.sku,
                "product_name": i.product_name,
                "quantity": i.quantity,
                "reason_code": i.reason_code,
                "reason": workflow.reasons.get(i.reason_code, i.reason_code),
            }
            for i in s.items
        ],
    }


def return_facts(r: Return, workflow: Workflow) -> ReturnFacts:
    """A snapshot of what a message about a return shows, as it is now."""
    return facts_of(ReturnSnapshot.of(r), workflow)


def _last_comment(r: Return) -> CommentFacts | None:
    comments: list[Comment] = list(r.comments)
    if not comments:
        return None
    c = comments[-1]
    return {"author": c.author.name if c.author else "Returns Hub", "body": c.body[:500]}


def notify_stage_entered(
    session: Session,
    workflow: Workflow,
    r: Return,
    src: Stage | None,
    dst: Stage,
    *,
    actor_name: str,
    note: str | None,
    rejection_reason: RejectionReason | None,
    now: datetime,
) -> list[Notification]:
    """A return entered `dst`: tell its team when it is a handoff, and the customer when the stage says so."""
    out: list[Notification] = []
    facts = return_facts(r, workflow)
    team = workflow.teams.get(dst.team) if dst.team else None
    from_team = workflow.teams.get(src.team) if src and src.team else None
    if team is not None and (from_team is None or from_team.key != team.key) and src is not None:
        payload: HandoffPayload = {
            **facts,
            "from_stage_name": src.name,
            "from_team_name": from_team.name if from_team else None,
            "actor": actor_name,
            "note": note,
            "last_comment": _last_comment(r),
            "next_stages": next_stages(workflow, dst),
        }
        addresses = {"email": team.email, "slack": team.slack_channel}
        for channel in dst.notify:
            recipient = addresses.get(channel)
            if recipient:
                out.append(
                    enqueue(
                        session,
                        channel=channel,
                        kind="handoff",
                        recipient=recipient,
                        payload=payload,
                        return_id=r.id,
                        now=now,
                    )
                )
    if dst.customer_message:
        update: CustomerUpdatePayload = {
            **facts,
            "message": dst.customer_message,
            "note": note,
            "rejection_reason": rejection_reason.key if rejection_reason else None,
            "rejection_text": rejection_reason.text(customer_language(r.customer_locale)) if rejection_reason else None,
            "return_address": list(workflow.shop.return_address),
        }
        out.append(
            enqueue(
                session,
                channel="email",
                kind="customer_update",
                recipient=r.customer_email,
                payload=update,
                return_id=r.id,
                now=now,
            )
        )
    return out


def notify_mentions(
    session: Session, workflow: Workflow, r: Return, comment: Comment, mentioned: list[User], *, now: datetime
) -> list[Notification]:
    """Tell each @mentioned user about the comment: by e-mail, and in Slack when they are linked there."""
    out: list[Notification] = []
    author = comment.author.name if comment.author else "Returns Hub"
    for user in mentioned:
        if comment.author_id == user.id:
            continue  # mentioning yourself tells nobody
        payload: MentionPayload = {
            **return_facts(r, workflow),
            "author": author,
            "body": comment.body[:2000],
            "recipient_name": user.name,
        }
        out.append(
            enqueue(
                session, channel="email", kind="mention", recipient=user.email, payload=payload, return_id=r.id, now=now
            )
        )
        if user.slack_user_id:
            out.append(
                enqueue(
                    session,
                    channel="slack",
                    kind="mention",
                    recipient=user.slack_user_id,
                    payload=payload,
                    return_id=r.id,
                    now=now,
                )
            )
    return out
