"""The daily digest job: each team's digest once a working day at its local time."""

from __future__ import annotations

import logging

from hub.alerts.digests import digest_due, digest_teams, send_digest
from hub.core.leases import run_once
from hub.core.runtime import Runtime
from hub.workflow import Team

log = logging.getLogger(__name__)


def run_digests(runtime: Runtime, team_key: str | None = None) -> list[str]:
    """Queue the digests that are due now and not yet sent today; returns the teams sent to.

    Each team's digest for its local day runs once across workers (a lease on ("digest-<team>", day)); the
    digest itself is also recorded as processed in the transaction that queues it.
    """
    now = runtime.now()
    sent: list[str] = []
    for team in digest_teams(runtime.workflow):
        day = digest_due(team, now)
        if (team_key and team.key != team_key) or day is None:
            continue

        def send(team: Team = team) -> None:
            with runtime.unit_of_work() as session:
                if send_digest(session, runtime.workflow, team, now):
                    sent.append(team.key)

        run_once(runtime.engine, f"digest-{team.key}", day.isoformat(), send, now=runtime.now)
    log.info("daily digests: %s", f"queued for {', '.join(sent)}" if sent else "none due")
    return sent
