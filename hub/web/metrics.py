"""/metrics: the hub's state for Prometheus (text format), behind a bearer token; off without HUB_METRICS_TOKEN.

The gauges are read from the database at each scrape (a custom collector: a handful of grouped counts on
indexes), so every app server reports the same figures and nothing is kept in memory. The request latency
histogram is the process's own; with PROMETHEUS_MULTIPROC_DIR set (several processes on one host), it goes
through prometheus_client's multi-process files and a scrape of any process reports them all.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Iterable, Iterator
from datetime import datetime, timedelta

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import CollectorRegistry, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.orm import Session, sessionmaker

from hub.alerts.queries import alerts_raised_since, last_delay_scan
from hub.notifications.queries import State, backlog_by_channel
from hub.returns.queries import open_counts
from hub.web.context import runtime
from hub.workflow import Workflow

bp = Blueprint("metrics", __name__)

PREFIX = "returns_hub"
CHANNELS = ("email", "slack")  # reported even when empty, so a series does not vanish when its count is 0
OUTBOX_STATES = (State.PENDING, State.FAILED, State.UNKNOWN, State.DEAD)
ALERT_LEVELS = ("due_soon", "overdue", "escalated", "promise_broken")
ALERTS_WINDOW = timedelta(hours=24)
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# the text format every Prometheus reads (what prometheus_client itself answers a scraper that asks for no other)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
UNMATCHED = "(unmatched)"  # the route label of a request no URL rule matched (a 404): never the raw path

# the process's own registry, not prometheus_client's global one: /metrics reports what this module defines, no more
_LOCAL = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram(
    f"{PREFIX}_http_request_duration_seconds",
    "Time to answer a request, by URL rule (not path), method and status.",
    ["route", "method", "status"],
    registry=_LOCAL,
)


class DatabaseCollector(Collector):
    """The gauges read from the database, once per scrape, in one read-only session."""

    def __init__(self, sessions: sessionmaker[Session], workflow: Workflow, now: datetime) -> None:
        self.sessions = sessions
        self.workflow = workflow
        self.now = now

    def collect(self) -> Iterable[Metric]:
        """Every gauge, from a handful of indexed queries."""
        with self.sessions() as session:
            yield from self._outbox(session)
            yield from self._returns(session)
            yield from self._delay_scan(session)

    def _outbox(self, session: Session) -> Iterator[Metric]:
        backlog = {b.channel: b for b in backlog_by_channel(session, self.now)}
        counts = GaugeMetricFamily(
            f"{PREFIX}_outbox_notifications",
            "Notifications not delivered, by channel and state (pending: in line; failed: waiting for a retry "
            "after an error; unknown: the far side may have it; dead: gave up, an admin can retry it).",
            labels=["channel", "state"],
        )
        oldest = GaugeMetricFamily(
            f"{PREFIX}_outbox_oldest_pending_seconds",
            "Age of the oldest notification of the channel that is due and not delivered yet (pending or sending; "
            "one waiting out a retry delay is not counted); 0 when none.",
            labels=["channel"],
        )
        for channel in sorted(set(CHANNELS) | backlog.keys()):
            b = backlog.get(channel)
            for state in OUTBOX_STATES:
                counts.add_metric([channel, state.value], b.counts[state] if b else 0)
            since = b.oldest_due if b else None
            oldest.add_metric([channel], max((self.now - since).total_seconds(), 0.0) if since else 0.0)
        yield counts
        yield oldest

    def _returns(self, session: Session) -> Iterator[Metric]:
        stages = [s for s in self.workflow.stages.values() if not s.closed]
        by_stage = open_counts(session, [s.key for s in stages], self.now)
        open_ = GaugeMetricFamily(f"{PREFIX}_open_returns", "Open returns, by stage.", labels=["stage"])
        overdue = GaugeMetricFamily(
            f"{PREFIX}_overdue_returns", "Open returns past their stage's due time, by owning team.", labels=["team"]
        )
        per_team = dict.fromkeys(self.workflow.teams, 0)
        for stage in stages:
            n, late, _soon = by_stage.get(stage.key, (0, 0, 0))
            open_.add_metric([stage.key], n)
            if stage.team is not None:
                per_team[stage.team] = per_team.get(stage.team, 0) + late
        for team, late in per_team.items():
            overdue.add_metric([team], late)
        yield open_
        yield overdue

    def _delay_scan(self, session: Session) -> Iterator[Metric]:
        run = last_delay_scan(session)
        finished = GaugeMetricFamily(
            f"{PREFIX}_delay_scan_last_finished_timestamp_seconds",
            "When the newest finished delay scan ended (Unix time); 0 when none has finished.",
            value=run.finished_at.timestamp() if run else 0.0,
        )
        yield finished
        if run is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_delay_scan_last_duration_seconds",
                "How long the newest finished delay scan took.",
                value=run.seconds,
            )
        raised = alerts_raised_since(session, self.now - ALERTS_WINDOW)
        alerts = GaugeMetricFamily(
            f"{PREFIX}_alerts_raised_last_24h",
            "Delay alerts the delay scan raised in the last 24 hours, by level (from the event log).",
            labels=["level"],
        )
        for level in sorted(set(ALERT_LEVELS) | raised.keys()):
            alerts.add_metric([level], raised.get(level, 0))
        yield alerts


def _authorized(token: str) -> bool:
    """Whether the request carries `Authorization: Bearer <token>` (compared in constant time)."""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


@bp.get("/metrics")
def metrics() -> Response:
    """The Prometheus text format; 404 when HUB_METRICS_TOKEN is unset, 401 without the right bearer token."""
    rt = runtime()
    token = rt.settings.metrics_token
    if not token:  # plain text, not the HTML error page (whose CSRF token would start a session)
        return Response("Not found.\n", status=404, mimetype="text/plain")
    if not _authorized(token):
        return Response(
            "Send the metrics token (HUB_METRICS_TOKEN) as Authorization: Bearer <token>.\n",
            status=401,
            mimetype="text/plain",
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
        )
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(rt.read_session_factory, rt.workflow, rt.now()))
    if rt.settings.prometheus_multiproc_dir is not None:
        multiprocess.MultiProcessCollector(  # type: ignore[no-untyped-call]
            registry, path=str(rt.settings.prometheus_multiproc_dir)
        )
    else:
        registry.register(_LOCAL)  # a registry is a collector of its metrics
    resp = Response(generate_latest(registry), mimetype=None, content_type=CONTENT_TYPE)
    resp.headers["Cache-Control"] = "no-store"
    return resp


def init_app(app: Flask) -> None:
    """Time every request (only when /metrics is on); call it before the other hooks, so it times them too."""
    if not app.extensions["hub.core.runtime"].settings.metrics_token:
        return

    @app.before_request
    def _start_timer() -> None:
        g.metrics_started = time.perf_counter()

    @app.after_request
    def _observe(response: Response) -> Response:
        started = g.pop("metrics_started", None)
        if started is not None:
            rule = request.url_rule
            method = request.method if request.method in METHODS else "OTHER"
            REQUEST_SECONDS.labels(rule.rule if rule else UNMATCHED, method, str(response.status_code)).observe(
                time.perf_counter() - started
            )
        return response
