"""Who may do what to a return: the actor, team ownership of stages, and the refusals in one wording."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hub.accounts.models import User
from hub.core.errors import PermissionDenied
from hub.returns.models import Channel, Return
from hub.workflow import Stage, Workflow


@dataclass(frozen=True)
class Actor:
    """Who makes a change and through which channel; `user` is None for jobs and the system."""

    channel: Channel
    user: User | None = None
    label: str = ""

    @classmethod
    def person(cls, user: User, channel: Channel) -> Actor:
        """A logged-in user acting through a channel."""
        return cls(channel, user, user.name)

    @classmethod
    def system(cls, label: str, channel: Channel) -> Actor:
        """A trusted internal actor: a job, an import, a CLI command."""
        return cls(channel, None, label)

    @property
    def name(self) -> str:
        """How the timeline names the actor."""
        return self.user.name if self.user else self.label


def may_act_on(actor: Actor, workflow: Workflow, stage_key: str) -> bool:
    """Whether the actor may change a return sitting in this stage."""
    user = actor.user
    if user is None or user.is_lead_or_admin:
        return True
    stage = workflow.stages.get(stage_key)
    return stage is not None and stage.team is not None and stage.team in user.team_keys


def may_move(actor: Actor, workflow: Workflow, from_stage: str, to_stage: str) -> bool:
    """Whether the actor may move a return between these stages (rules aside)."""
    stage = workflow.stages.get(from_stage)
    if stage is not None and stage.closed:
        # a closed stage has no owner: reopening belongs to the team that gets it back
        return may_act_on(actor, workflow, to_stage)
    return may_act_on(actor, workflow, from_stage)


def deny(actor: Actor, workflow: Workflow, stage_key: str, doing: str) -> PermissionDenied:
    """The refusal for an actor who may not do something to a return in this stage (it names the owner)."""
    stage = workflow.stages[stage_key]
    team = workflow.team_of(stage_key)
    owner = team.name if team else "nobody"
    # the refusal goes to the person who tried (a system actor is never refused), so it speaks to them
    return PermissionDenied(
        f"You can't {doing} because “{stage.name}” belongs to {owner}: only its members, leads and admins can."
    )


def may_create(actor: Actor, workflow: Workflow) -> bool:
    """Whether the actor may open new returns (they start in the first stage, so its team may)."""
    return may_act_on(actor, workflow, workflow.initial_stage.key)


def deny_create(actor: Actor, workflow: Workflow) -> PermissionDenied:
    """The one refusal for creating returns, used by the board, Slack and the CSV import alike."""
    return deny(actor, workflow, workflow.initial_stage.key, "create returns")


def stages_reachable(workflow: Workflow, actor: Actor, r: Return) -> Sequence[Stage]:
    """The stages this actor may move this return to, in board order."""
    return stages_reachable_from(workflow, actor, r.stage)


def stages_reachable_from(workflow: Workflow, actor: Actor, stage_key: str) -> Sequence[Stage]:
    """The stages this actor may move a return in this stage to, in board order (the same for all its returns)."""
    src = workflow.stage(stage_key)
    return [workflow.stages[k] for k in src.next if may_move(actor, workflow, src.key, k)]
