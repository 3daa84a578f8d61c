"""Read-side queries: the board, the change feed and start-up checks. The place to tune for speed."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.returns.models import Return
from hub.workflow import Workflow


def unknown_stages(session: Session, workflow: Workflow) -> dict[str, int]:
    """Stages that returns in the database are in but the workflow no longer has, with counts."""
    rows = session.execute(
        select(Return.stage, func.count()).where(Return.stage.not_in(list(workflow.stages)))
        .group_by(Return.stage).order_by(Return.stage)
    )
    return {stage: count for stage, count in rows}
