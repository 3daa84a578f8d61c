"""The daily digest job: each team's digest once a working day at its local time."""

from __future__ import annotations

import logging

from hub.alerts.digests import digest_teams, send_digest
from hub.core.runtime import Runtime

log = logging.getLogger(__name__)


def run_digests(runtime: Runtime, team_key: str | None = None) -> list[str]:
    """Queue the digests that are due now and not yet sent today; returns the teams sent to."""
    now = runtime.now()
    sent = []
    for team in digest_teams(runtime.workflow):
        if team_key and team.key != team_key:
            continue
        with runtime.unit_of_work() as session:
            if send_digest(session, runtime.workflow, team, now):
                sent.append(team.key)
    log.info("daily digests: %s", f"queued for {', '.join(sent)}" if sent else "none due")
    return sent
