"""Several servers and workers as one (issue 11): three `returns-hub serve` processes and two `returns-hub worker`
processes on one database and one SMTP server. 1,000 handoffs are driven over HTTP through the three app servers
round-robin, by several client threads logged in as the teams' members; every e-mail the outbox holds is then
delivered exactly once, and each team's digest, due when the workers start, is sent once although both workers run
the scheduler.

E-mail only: the teams have no Slack channel in this workflow file, and Slack is off (no token). A fake Slack Web
API would not keep the run short: Slack's pace, one message a second per channel shared by every worker, would make
1,000 handoffs to three channels take five minutes or more; and Slack rows merely marked skipped would cost the
workers a third of their time while proving nothing about delivery.
"""

from __future__ import annotations

import http.client
import itertools
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from http.cookies import SimpleCookie
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.accounts.services import sync_teams
from hub.core.leases import JobRun
from hub.notifications.models import Notification, NotificationStatus
from hub.returns.models import Return
from hub.returns.services import flag_return
from hub.workflow import Workflow, load_workflow
from tests.email.support import BASE_URL, MAIL_DOMAIN, MAIL_FROM, SmtpServer, free_port
from tests.factories import PASSWORD, SYSTEM, make_returns, make_user

RETURNS_HUB = str(Path(sys.executable).with_name("returns-hub"))
SERVERS = 3
WORKERS = 2
CLIENTS = 6  # client threads, two per team's login
# the handoffs: returns seeded in a stage of one team, each moved once into a stage of another team
HANDOFFS = {"new": ("approved", 334), "in_transit": ("received", 333), "received": ("inspected", 333)}
STALE_EVERY = 50  # every 50th return changes after the client read it: its first move is a 409, then a retry
DELIVERY_TIMEOUT = 120.0
CARD_RE = re.compile(r'id="card-([^"]+)" data-rma="[^"]+" data-version="(\d+)" data-stage="([^"]+)"')
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


# --- the processes ---------------------------------------------------------------------------------


@dataclass
class Proc:
    """One `returns-hub` subprocess and its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Cluster:
    """The running processes: app servers (with their ports) and workers."""

    servers: list[tuple[Proc, int]] = field(default_factory=list)
    workers: list[Proc] = field(default_factory=list)

    @property
    def procs(self) -> list[Proc]:
        return [p for p, _ in self.servers] + self.workers

    def logs(self) -> str:
        """Every process's log (its last 6,000 characters), for an assertion message."""
        return "".join(f"\n----- {p.name} ({p.log}) -----\n{p.text()[-6000:]}" for p in self.procs)

    def check_alive(self) -> None:
        dead = [f"{p.name} exited with {p.popen.returncode}" for p in self.procs if p.popen.poll() is not None]
        assert not dead, f"{'; '.join(dead)}{self.logs()}"

    def stop(self) -> None:
        """SIGTERM to every process, then SIGKILL to any still running after 20 s."""
        for p in self.procs:
            if p.popen.poll() is None:
                p.popen.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for p in self.procs:
            try:
                p.popen.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait(10)


def _start(name: str, args: list[str], env: dict[str, str], log: Path) -> Proc:
    with log.open("wb") as out:
        popen = subprocess.Popen([RETURNS_HUB, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
    return Proc(name, popen, log)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """Processes the test starts; every one is stopped afterwards, pass or fail."""
    running = Cluster()
    try:
        yield running
    finally:
        running.stop()


def _wait_for(condition: Callable[[], bool], timeout: float, what: str, cluster: Cluster) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        cluster.check_alive()
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}{cluster.logs()}"
        time.sleep(0.5)


def _healthy(port: int) -> bool:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz")
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


# --- the workflow file ---------------------------------------------------------------------------------


def _digest_due() -> tuple[str, str, date]:
    """A zone where it is now about noon, a digest time there a minute before now, and that local day: the
    digest is due when the workers start, whatever the hour in UTC (no midnight in the way)."""
    now = datetime.now(UTC)
    offset = 12 - now.hour  # -11 ... +12 hours: every one has an Etc/GMT zone (whose sign is the other way)
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"
    local = now.astimezone(ZoneInfo(zone))
    return zone, (local - timedelta(minutes=1)).strftime("%H:%M"), local.date()


def _workflow_file(path: Path, zone: str, digest_time: str) -> Path:
    """The built-in workflow with every team in `zone`, working every day, its digest due at `digest_time`, and
    reached by e-mail only; with a return address (none would only add a warning to every log)."""
    text = resources.files("hub.workflow").joinpath("default.toml").read_text("utf-8")
    days = '["mon", "tue", "wed", "thu", "fri", "sat", "sun"]'
    per_team = [
        (re.compile(r'^timezone = ".*"$', re.M), f'timezone = "{zone}"'),
        (re.compile(r"^working_days = \[.*\]$", re.M), f"working_days = {days}"),
        (re.compile(r'^digest_time = "[^"]*"', re.M), f'digest_time = "{digest_time}"'),
        (re.compile(r"^slack_channel = .*\n", re.M), ""),
    ]
    for pattern, line in per_team:
        text, n = pattern.subn(line, text)
        assert n == 3, f"the default workflow has changed: {pattern.pattern} matched {n} times, not once per team"
    address = 'return_address = ["Example Shop — Returns", "Industrieweg 12", "1234 AB Amsterdam", "Netherlands"]'
    text, n = re.subn(r"^\[shop\]$", f"[shop]\n{address}", text, flags=re.M)
    assert n == 1, "the default workflow has changed: no [shop] table"
    path.write_text(text, "utf-8")
    return path


# --- the client: a browser per login, one connection per app server ----------------------------------------


@dataclass
class Login:
    """One logged-in browser: its cookies and CSRF token (shared by the client threads of one team)."""

    email: str
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: str = ""

    def header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def remember(self, response: http.client.HTTPResponse) -> None:
        # the cookies are Secure (the public URL is https): kept by hand, as a browser on localhost does
        for line in response.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                self.cookies[name] = morsel.value


def _request(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    login: Login,
    form: dict[str, str] | None = None,
    **headers: str,
) -> tuple[int, str]:
    body = urllib.parse.urlencode(form) if form is not None else None
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    if login.cookies:
        headers["Cookie"] = login.header()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    text = response.read().decode("utf-8", "replace")
    login.remember(response)
    return response.status, text


def _log_in(port: int, email: str) -> Login:
    """Log in through /login as a browser does: the form's CSRF token, then the post (one slow hash each)."""
    login = Login(email)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        status, page = _request(conn, "GET", "/login", login)
        match = CSRF_RE.search(page)
        assert status == 200, f"GET /login answered {status}"
        assert match, "the login form has no CSRF token"
        login.csrf = match.group(1)
        form = {"email": email, "password": PASSWORD, "csrf_token": login.csrf}
        status, page = _request(conn, "POST", "/login", login, form)
        assert status == 302, f"logging in {email} answered {status}: {page[:500]}"
        status, page = _request(conn, "GET", "/account", login)  # a login starts a session with a new token
        match = CSRF_RE.search(page)
        assert status == 200, f"GET /account answered {status}"
        assert match, "the account page has no CSRF token"
        login.csrf = match.group(1)
    finally:
        conn.close()
    return login


@dataclass(frozen=True)
class Handoff:
    """One move to make: a return, where it is, where it goes, and the version the client last saw."""

    rma: str
    src: str
    dst: str
    version: int


@dataclass
class Driver:
    """Client threads posting moves to the app servers in turn, with the answers' tally."""

    ports: list[int]
    turn: Iterator[int] = field(default_factory=itertools.count)
    lock: threading.Lock = field(default_factory=threading.Lock)
    moved: list[Handoff] = field(default_factory=list)
    conflicts: int = 0
    served: Counter[int] = field(default_factory=Counter)

    def run(self, login: Login, handoffs: list[Handoff]) -> None:
        login = replace(login, cookies=dict(login.cookies))  # the browser's tab: cookies of its own from here on
        conns = [http.client.HTTPConnection("127.0.0.1", port, timeout=60) for port in self.ports]
        try:
            for h in handoffs:
                self._move(conns, login, h)
        finally:
            for conn in conns:
                conn.close()

    def _post(self, conns: list[http.client.HTTPConnection], login: Login, h: Handoff, version: int) -> tuple[int, str]:
        i = next(self.turn) % len(conns)  # round-robin over the app servers, across every client thread
        form = {"to_stage": h.dst, "version": str(version), "view": "card"}
        # as the board's drag and drop posts it: htmx, the CSRF header, the card as the answer
        answer = _request(
            conns[i], "POST", f"/returns/{h.rma}/move", login, form, **{"HX-Request": "true", "X-CSRFToken": login.csrf}
        )
        with self.lock:
            self.served[self.ports[i]] += 1
        return answer

    def _move(self, conns: list[http.client.HTTPConnection], login: Login, h: Handoff) -> None:
        version = h.version
        for _attempt in range(3):
            status, html = self._post(conns, login, h, version)
            card = CARD_RE.search(html)
            assert status in (200, 409), f"moving {h.rma} to {h.dst} answered {status}: {html[:1000]}"
            assert card, f"moving {h.rma} to {h.dst} answered {status} without its card: {html[:1000]}"
            rma, version_text, stage = card.groups()
            assert rma == h.rma, f"moving {h.rma} answered with the card of {rma}"
            if status == 200:
                assert stage == h.dst, f"{h.rma} is in {stage} after its move to {h.dst}"
                with self.lock:
                    self.moved.append(h)
                return
            # 409: someone changed the return since the client read it; the answer is its fresh card
            assert stage == h.src, f"{h.rma} was moved to {stage} behind the client's back"
            version = int(version_text)
            with self.lock:
                self.conflicts += 1
        pytest.fail(f"{h.rma}: three version conflicts in a row")


# --- what the outbox and the SMTP server hold ----------------------------------------------------------


def _expected(workflow: Workflow, moved: list[Handoff]) -> Counter[tuple[str, str]]:
    """The outbox rows (channel, kind) the moves must have written: the handoff to the new team over each of its
    stage's channels the team has an address for, and the customer's update when the stage sends one."""
    rows: Counter[tuple[str, str]] = Counter()
    for h in moved:
        dst = workflow.stages[h.dst]
        team = workflow.team_of(h.dst)
        assert team is not None, f"{h.dst} has no team"
        assert team != workflow.team_of(h.src), f"{h.src} -> {h.dst} is no handoff"
        addresses = {"email": team.email, "slack": team.slack_channel}
        rows.update((channel, "handoff") for channel in dst.notify if addresses.get(channel))
        if dst.customer_message:
            rows[("email", "customer_update")] += 1
    return rows


def _rows(session_factory: sessionmaker[Session]) -> list[Notification]:
    with session_factory() as s:
        return list(s.scalars(select(Notification).order_by(Notification.id)))


def _undelivered(session_factory: sessionmaker[Session]) -> int:
    busy = (NotificationStatus.PENDING, NotificationStatus.SENDING)
    with session_factory() as s:
        return s.scalar(select(func.count()).select_from(Notification).where(Notification.status.in_(busy))) or 0


def _message_id(n: Notification) -> str:
    return f"<{n.message_key}@{MAIL_DOMAIN}>"


# --- the test ------------------------------------------------------------------------------------------


def _seed(session: Session, workflow: Workflow) -> tuple[list[Handoff], dict[str, str]]:
    """The returns to hand off (their versions as a board read them; every STALE_EVERY-th then changes), and one
    member per team (email by team key); committed."""
    sync_teams(session, workflow)
    now = datetime.now(UTC)
    emails = {team: make_user(session, team=team, name=f"{team} member").email for team in workflow.teams}
    rmas: dict[str, list[str]] = {}
    for n, (src, (_dst, count)) in enumerate(HANDOFFS.items()):
        rmas[src] = make_returns(session, workflow, count, stage=src, now=now, prefix=f"RMA-{n or ''}")
    session.commit()
    versions = {rma: version for rma, version in session.execute(select(Return.rma, Return.version))}
    handoffs = [Handoff(rma, src, dst, versions[rma]) for src, (dst, _count) in HANDOFFS.items() for rma in rmas[src]]
    # changed after the board was read (blocked: no message), so the client's first move of them is refused
    for h in handoffs[::STALE_EVERY]:
        flag_return(session, workflow, SYSTEM, h.rma, "Waiting for the carrier's answer", now=now)
    session.commit()
    return handoffs, emails


def _start_cluster(cluster: Cluster, env: dict[str, str], tmp_path: Path) -> list[int]:
    ports = [free_port() for _ in range(SERVERS)]
    for i, port in enumerate(ports, 1):
        log = tmp_path / f"serve-{i}.log"
        cluster.servers.append((_start(f"serve {i}", ["serve", "--port", str(port)], env, log), port))
    for i in range(1, WORKERS + 1):
        cluster.workers.append(_start(f"worker {i}", ["worker"], env, tmp_path / f"worker-{i}.log"))
    _wait_for(lambda: all(_healthy(port) for port in ports), 60, "the app servers to answer /healthz", cluster)
    return ports


def test_three_app_servers_and_two_workers_deliver_every_handoff_once_and_each_digest_once(
    session: Session,
    session_factory: sessionmaker[Session],
    smtp: SmtpServer,
    database_url: str,
    cluster: Cluster,
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    zone, digest_time, digest_day = _digest_due()
    config = _workflow_file(tmp_path / "workflow.toml", zone, digest_time)
    workflow = load_workflow(config)
    handoffs, emails = _seed(session, workflow)
    assert len(handoffs) == 1000
    seeded = time.monotonic()
    env = {
        **os.environ,
        "HUB_DATABASE_URL": database_url,
        "HUB_INSTANCE_DIR": str(tmp_path / "instance"),
        "HUB_CONFIG": str(config),
        "HUB_SMTP_URL": smtp.url,
        "HUB_BASE_URL": BASE_URL,
        "HUB_MAIL_FROM": MAIL_FROM,
        "HUB_SECRET_KEY": "test-secret-key",
        "SLACK_BOT_TOKEN": "",
        "SLACK_SIGNING_SECRET": "",
    }
    ports = _start_cluster(cluster, env, tmp_path)
    ready = time.monotonic()

    # one login per team, each through another server; two client threads share each login
    logins = {team: _log_in(ports[i % SERVERS], email) for i, (team, email) in enumerate(emails.items())}
    by_team: dict[str, list[Handoff]] = {}
    for h in handoffs:
        team = workflow.stages[h.src].team
        assert team is not None
        by_team.setdefault(team, []).append(h)
    driver = Driver(ports)
    shares = [(logins[team], hs[i::2]) for team, hs in by_team.items() for i in range(CLIENTS // len(by_team))]
    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(driver.run, login, share) for login, share in shares]:
            try:
                future.result()
            except Exception as exc:  # a failed check, or a server that stopped answering
                raise AssertionError(f"{type(exc).__name__}: {exc}{cluster.logs()}") from exc
    driven = time.monotonic()
    cluster.check_alive()
    assert len(driver.moved) == len(handoffs)
    assert driver.conflicts == len(handoffs[::STALE_EVERY])  # each stale return refused once, then moved
    assert sorted(driver.served) == sorted(ports), driver.served
    assert max(driver.served.values()) - min(driver.served.values()) <= 1, driver.served  # round-robin

    # the outbox holds what the moves wrote, and nothing for the refused tries
    expected = _expected(workflow, driver.moved)
    held = Counter((n.channel, n.kind) for n in _rows(session_factory) if n.kind in {"handoff", "customer_update"})
    assert held == expected
    assert expected[("email", "handoff")] == len(handoffs)

    try:
        _wait_for(lambda: _undelivered(session_factory) == 0, DELIVERY_TIMEOUT, "the outbox to be delivered", cluster)
    except AssertionError as exc:
        left = Counter(n.status.value for n in _rows(session_factory))
        raise AssertionError(f"outbox rows by status: {dict(left)}; {exc}") from None
    delivered = time.monotonic()
    rows = _rows(session_factory)
    email = [n for n in rows if n.channel == "email"]
    not_sent = [(n.id, n.kind, n.status.value, n.last_error) for n in email if n.status is not NotificationStatus.SENT]
    assert not not_sent, f"{len(not_sent)} e-mails not sent, e.g. {not_sent[:5]}{cluster.logs()}"
    assert [n for n in rows if n.channel != "email"] == []
    # the SMTP server got each row's Message-ID exactly once: nothing twice, nothing missing, nothing else
    counts = smtp.count_by_message_id()
    twice = {k: v for k, v in counts.items() if v != 1}
    assert not twice, f"{len(twice)} e-mails delivered more than once, e.g. {dict(list(twice.items())[:5])}"
    ids = {_message_id(n) for n in email}
    missing, unknown = ids - set(counts), set(counts) - ids
    assert not missing, f"{len(missing)} e-mails never arrived, e.g. {sorted(missing)[:5]}"
    assert not unknown, f"{len(unknown)} e-mails arrived that no outbox row holds, e.g. {sorted(unknown)[:5]}"

    # each team's digest: one e-mail row and one SMTP message, although both workers ran every digest job
    digests = [n for n in email if n.kind == "digest"]
    assert Counter(n.recipient for n in digests) == Counter(t.email for t in workflow.teams.values() if t.email)
    for worker in cluster.workers:
        assert worker.text().count("daily digests:") >= len(workflow.teams), worker.text()
    with session_factory() as s:
        runs = list(s.scalars(select(JobRun).where(JobRun.job.like("digest-%"))))
    assert sorted((r.job, r.slot) for r in runs) == sorted(
        (f"digest-{key}", digest_day.isoformat()) for key in workflow.teams
    )
    assert all(r.finished_at is not None for r in runs), runs

    print(  # the wall time of each phase, shown with pytest -s
        f"\ncluster: seeded in {seeded - started:.1f} s, started in {ready - seeded:.1f} s; "
        f"{len(handoffs)} handoffs (+{driver.conflicts} conflicts) in {driven - ready:.1f} s, "
        f"{len(email)} e-mails delivered {delivered - driven:.1f} s later; posts per server {dict(driver.served)}"
    )
