"""GET /metrics: off without HUB_METRICS_TOKEN, a bearer token otherwise, the Prometheus text format with the
outbox, the open and overdue returns, the delay scan and request latencies per route (in multi-process mode too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from hub.app import create_app
from hub.core.config import Settings, SettingsError
from hub.core.db import unit_of_work
from hub.core.leases import JobRun
from hub.notifications.models import UNKNOWN_PREFIX, NotificationStatus
from hub.notifications.outbox import enqueue
from jobs.delays import run_delay_scan
from tests.factories import make_returns, move

TOKEN = "metrics-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def metrics_runtime(runtime, clock):
    """The runtime with /metrics on, on the hand-moved clock."""
    rt = replace(runtime, settings=replace(runtime.settings, metrics_token=TOKEN))
    rt.clock = clock
    return rt


@pytest.fixture
def metrics_client(metrics_runtime):
    """A client of an app whose /metrics is on."""
    return create_app(runtime=metrics_runtime, TESTING=True).test_client()


def scrape(client) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of GET /metrics, by name and labels, parsed as Prometheus parses it."""
    resp = client.get("/metrics", headers=AUTH)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.content_type.startswith("text/plain; version=0.0.4")
    assert "Set-Cookie" not in resp.headers
    return parsed(resp.get_data(as_text=True))


def parsed(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Samples of a text-format exposition."""
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def labelled(samples, name: str, label: str) -> dict[str, float]:
    """The samples of one single-label gauge, by that label's value."""
    return {dict(labels)[label]: v for (n, labels), v in samples.items() if n == name}


def test_metrics_is_off_without_a_token(client):
    resp = client.get("/metrics")
    assert resp.status_code == 404
    assert "Set-Cookie" not in resp.headers


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-0123456789abcdef"},
        {"Authorization": f"Bearer {TOKEN}x"},
        {"Authorization": f"Bearer {TOKEN[:-1]}"},
        {"Authorization": f"Basic {TOKEN}"},
        {"Authorization": TOKEN},
        {"Authorization": "Bearer "},
    ],
    ids=["none", "wrong", "longer", "shorter", "basic", "no-scheme", "empty"],
)
def test_metrics_refuses_a_missing_or_wrong_token_and_sets_no_cookie(metrics_client, headers):
    resp = metrics_client.get("/metrics", headers=headers)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    assert "HUB_METRICS_TOKEN" in resp.get_data(as_text=True)
    assert "Set-Cookie" not in resp.headers
    assert "returns_hub" not in resp.get_data(as_text=True)


def test_the_outbox_gauges_count_each_channel_and_state(metrics_runtime, metrics_client, session_factory, clock):
    now = clock()
    with unit_of_work(session_factory) as s:

        def add(channel: str, *, minutes_ago: int = 0):
            return enqueue(
                s,
                channel=channel,
                kind="handoff",
                recipient="team@shop.example" if channel == "email" else "#returns-logistics",
                payload={},
                return_id=None,
                now=now - timedelta(minutes=minutes_ago),
            )

        add("email", minutes_ago=10)  # the oldest e-mail in line
        add("email")
        add("slack", minutes_ago=3)
        failed = add("email", minutes_ago=1)
        failed.attempts, failed.last_error, failed.next_attempt_at = 2, "timed out", now + timedelta(minutes=2)
        unknown = add("email", minutes_ago=50)  # older, but waiting out its hour: no sign of a stuck worker
        unknown.attempts, unknown.next_attempt_at = 1, now + timedelta(minutes=10)
        unknown.last_error = f"{UNKNOWN_PREFIX}no answer to the end of the message"
        for _ in range(2):
            dead = add("slack", minutes_ago=60)  # dead ones are not waiting: not the oldest pending
            dead.status, dead.attempts, dead.last_error = NotificationStatus.DEAD, 8, "channel_not_found"
        sent = add("slack", minutes_ago=120)
        sent.status, sent.attempts = NotificationStatus.SENT, 1

    samples = scrape(metrics_client)

    counts = {
        (dict(labels)["channel"], dict(labels)["state"]): v
        for (name, labels), v in samples.items()
        if name == "returns_hub_outbox_notifications"
    }
    assert counts == {
        ("email", "pending"): 2,
        ("email", "failed"): 1,
        ("email", "unknown"): 1,
        ("email", "dead"): 0,
        ("slack", "pending"): 1,
        ("slack", "failed"): 0,
        ("slack", "unknown"): 0,
        ("slack", "dead"): 2,
    }
    oldest = labelled(samples, "returns_hub_outbox_oldest_pending_seconds", "channel")
    assert oldest == {"email": 600.0, "slack": 180.0}


def test_an_empty_outbox_reports_zeros_for_every_channel(metrics_client):
    samples = scrape(metrics_client)
    assert labelled(samples, "returns_hub_outbox_oldest_pending_seconds", "channel") == {"email": 0, "slack": 0}
    assert {v for (n, _), v in samples.items() if n == "returns_hub_outbox_notifications"} == {0}


def test_open_returns_per_stage_and_overdue_per_team(metrics_client, session_factory, workflow, clock):
    now = clock()
    with unit_of_work(session_factory) as s:
        make_returns(s, workflow, 3, stage="new", now=now - timedelta(days=2), prefix="RMA-A")  # overdue
        make_returns(s, workflow, 1, stage="new", now=now, prefix="RMA-B")
        make_returns(s, workflow, 2, stage="in_transit", now=now - timedelta(days=6), prefix="RMA-C")  # overdue
        make_returns(s, workflow, 1, stage="in_transit", now=now - timedelta(days=1), prefix="RMA-D")
        make_returns(s, workflow, 2, stage="received", now=now, prefix="RMA-E")
        make_returns(s, workflow, 1, stage="inspected", now=now - timedelta(days=3), prefix="RMA-F")
    move(session_factory, workflow, "RMA-F5000", "resolved", now=now, resolution="refund")  # closed: not counted

    samples = scrape(metrics_client)

    assert labelled(samples, "returns_hub_open_returns", "stage") == {
        "new": 4,
        "approved": 0,
        "in_transit": 3,
        "received": 2,
        "inspected": 0,
    }
    assert labelled(samples, "returns_hub_overdue_returns", "team") == {
        "customer_service": 3,
        "logistics": 2,
        "warehouse": 0,
    }


def test_the_delay_scan_gauges_read_the_newest_finished_run_and_the_alerts_of_24_hours(
    metrics_runtime, metrics_client, session_factory, workflow, clock
):
    now = clock()
    assert scrape(metrics_client)[("returns_hub_delay_scan_last_finished_timestamp_seconds", frozenset())] == 0
    with unit_of_work(session_factory) as s:
        make_returns(s, workflow, 2, stage="new", now=now - timedelta(days=2), prefix="RMA-A")
        for slot, start, seconds, done in [
            ("2026-03-05T08:50", now - timedelta(minutes=10), 0.25, True),
            ("2026-03-05T08:55", now - timedelta(minutes=5), 1.5, True),  # the newest finished
            ("2026-03-05T09:00", now, 0, False),  # still running
        ]:
            s.add(
                JobRun(
                    job="delay-scan",
                    slot=slot,
                    holder="host:1",
                    started_at=start,
                    lease_until=start + timedelta(minutes=1),
                    finished_at=start + timedelta(seconds=seconds) if done else None,
                )
            )
    clock.advance(hours=-30)
    with unit_of_work(session_factory) as s:
        make_returns(s, workflow, 1, stage="received", now=clock() - timedelta(days=3), prefix="RMA-OLD")
    old_report = run_delay_scan(metrics_runtime)  # 30 hours ago: outside the window
    assert sum(old_report.raised.values()) > 0
    clock.set(now)
    report = run_delay_scan(metrics_runtime)
    assert sum(report.raised.values()) > 0

    samples = scrape(metrics_client)

    finished = samples[("returns_hub_delay_scan_last_finished_timestamp_seconds", frozenset())]
    assert finished == (now - timedelta(minutes=5) + timedelta(seconds=1.5)).timestamp()
    assert samples[("returns_hub_delay_scan_last_duration_seconds", frozenset())] == 1.5
    raised = labelled(samples, "returns_hub_alerts_raised_last_24h", "level")
    assert raised == {"due_soon": 0, "overdue": 0, "escalated": 0, "promise_broken": 0, **report.raised}


def test_the_latency_histogram_is_labelled_by_route_not_by_path(metrics_client):
    for rma in ("RMA-1", "RMA-2", "RMA-3"):
        assert metrics_client.get(f"/returns/{rma}").status_code == 302  # to the login page
    assert metrics_client.get("/no/such/page/9f8e7d").status_code == 404
    assert metrics_client.get("/healthz").status_code == 200

    samples = scrape(metrics_client)

    counts = {
        tuple(sorted(labels)): v
        for (name, labels), v in samples.items()
        if name == "returns_hub_http_request_duration_seconds_count"
    }
    routes = {dict(k)["route"] for k in counts}
    assert "/returns/<rma>" in routes
    assert "(unmatched)" in routes
    assert not any("RMA-" in r or "9f8e7d" in r for r in routes)
    detail = (("method", "GET"), ("route", "/returns/<rma>"), ("status", "302"))
    assert counts[detail] >= 3  # the histogram is the process's: other tests' apps add to it
    assert counts[(("method", "GET"), ("route", "(unmatched)"), ("status", "404"))] >= 1
    buckets = [
        v
        for (name, labels), v in samples.items()
        if name == "returns_hub_http_request_duration_seconds_bucket" and {("route", "/healthz")} <= labels
    ]
    assert buckets
    assert max(buckets) >= 1


def test_without_a_token_no_request_is_timed(client, metrics_client):
    before = scrape(metrics_client)
    client.get("/returns/RMA-77")
    client.get("/returns/RMA-77")
    after = scrape(metrics_client)
    key = (
        "returns_hub_http_request_duration_seconds_count",
        frozenset({("method", "GET"), ("route", "/returns/<rma>"), ("status", "302")}),
    )
    assert after.get(key, 0) == before.get(key, 0)


_SERVE = textwrap.dedent(
    """
    import json, sys
    from hub.app import create_app

    client = create_app().test_client()
    for _ in range(int(sys.argv[1])):
        assert client.get("/healthz").status_code == 200
    resp = client.get("/metrics", headers={"Authorization": "Bearer " + sys.argv[2]})
    print(json.dumps({"status": resp.status_code, "body": resp.get_data(as_text=True)}))
    """
)


def test_in_multi_process_mode_a_scrape_of_one_process_reports_every_process(database_url, db, tmp_path):
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database_url,
        "HUB_SECRET_KEY": "test-secret-key",
        "HUB_INSTANCE_DIR": str(tmp_path / "instance"),
        "HUB_METRICS_TOKEN": TOKEN,
        "PROMETHEUS_MULTIPROC_DIR": str(multiproc),
    }

    def run(requests: int) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        done = subprocess.run(
            [sys.executable, "-c", _SERVE, str(requests), TOKEN],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        assert answer["status"] == 200, answer
        return parsed(answer["body"])

    run(2)
    samples = run(3)  # another process: its scrape sums the files of both

    healthz = frozenset({("method", "GET"), ("route", "/healthz"), ("status", "200")})
    assert samples[("returns_hub_http_request_duration_seconds_count", healthz)] == 5
    assert len(list(multiproc.glob("histogram_*.db"))) == 2
    # the database gauges come once, from the scrape, not once per process file
    assert samples[("returns_hub_open_returns", frozenset({("stage", "new")}))] == 0
    assert len([k for k in samples if k[0] == "returns_hub_open_returns"]) == 5


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HUB_METRICS_TOKEN": "too-short"}, "HUB_METRICS_TOKEN must be at least 16"),
        ({"HUB_METRICS_TOKEN": "has a space in the middle"}, "without spaces"),
        ({"PROMETHEUS_MULTIPROC_DIR": "/no/such/folder/for/metrics"}, "PROMETHEUS_MULTIPROC_DIR must be an existing"),
    ],
)
def test_a_weak_token_or_a_missing_multiprocess_folder_is_refused_by_name(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_the_settings_read_the_token_and_the_folder(tmp_path):
    settings = Settings.from_env({"HUB_METRICS_TOKEN": TOKEN, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    assert (settings.metrics_token, settings.prometheus_multiproc_dir) == (TOKEN, tmp_path)
    assert Settings.from_env({"HUB_METRICS_TOKEN": ""}).metrics_token is None  # empty counts as unset: off
