"""A local HTTP server on 127.0.0.1 that plays Slack's Web API (and response_urls) and records every call."""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Call:
    """One request the server got: the API method (or "respond" for a response_url) and its arguments."""

    method: str
    args: dict[str, Any]
    token: str | None
    path: str
    at: float = field(default_factory=time.monotonic, compare=False)  # when it arrived

    def __getitem__(self, key: str) -> Any:
        return self.args[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.args.get(key, default)


@dataclass
class Failure:
    """An answer to give instead of success: an HTTP status (429 with Retry-After, 500) or a Slack error."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None


@dataclass
class SlackUser:
    """A member of the fake workspace."""

    id: str
    email: str | None
    name: str = ""
    is_bot: bool = False


class FakeSlackApi:
    """Slack's Web API on a free port: `url` for SLACK_API_URL, `response_url()` for slash commands."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.calls: list[Call] = []
        self.users: dict[str, SlackUser] = {}
        self.channels: dict[str, str] = {}  # "#name" -> channel id
        self._failures: dict[str, deque[Failure]] = {}
        self._holds: dict[str, threading.Event] = {}
        self._lock = threading.Condition()
        self._ts = itertools.count(1)
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # `format`: the base class's name
                pass

            def do_POST(self) -> None:  # http.server's name
                self._handle()

            def do_GET(self) -> None:
                self._handle()

            def _handle(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode() if length else ""
                args: dict[str, Any] = dict(parse_qsl(parts.query))
                if raw:
                    if (self.headers.get("Content-Type") or "").startswith("application/json"):
                        args.update(json.loads(raw))
                    else:
                        args.update(dict(parse_qsl(raw)))
                for key in ("blocks", "view", "attachments"):
                    if isinstance(args.get(key), str):
                        args[key] = json.loads(args[key])
                auth = self.headers.get("Authorization") or ""
                token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.pop("token", None)
                if parts.path.startswith("/respond/"):
                    method = "respond"
                elif parts.path.startswith("/api/"):
                    method = parts.path.removeprefix("/api/")
                else:
                    self._send(404, {"ok": False, "error": "unknown_path"})
                    return
                status, body, headers = api._answer(method, args, token, parts.path)
                self._send(status, body, headers)

            def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode() if not isinstance(body, bytes) else body
                self.send_response(status)
                self.send_header("Content-Type", "application/json" if not isinstance(body, bytes) else "text/html")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-slack-api", daemon=True
        )
        self._thread.start()

    # --- set-up -------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        """What SLACK_API_URL is set to."""
        return f"http://127.0.0.1:{self.port}/api/"

    def response_url(self, name: str = "cmd") -> str:
        """A response_url as Slack puts in slash commands and button clicks."""
        return f"http://127.0.0.1:{self.port}/respond/{name}"

    def add_user(self, slack_id: str, email: str | None, name: str = "", *, is_bot: bool = False) -> None:
        self.users[slack_id] = SlackUser(slack_id, email, name or slack_id, is_bot)

    def add_channel(self, name: str, channel_id: str) -> None:
        self.channels[name] = channel_id

    def fail(
        self,
        method: str,
        status: int = 200,
        *,
        error: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with this failure."""
        with self._lock:
            queue = self._failures.setdefault(method, deque())
            queue.extend(Failure(status, error, retry_after) for _ in range(times))

    def hold(self, method: str) -> threading.Event:
        """Keep calls to `method` waiting until the returned event is set (a slow Slack, deterministically)."""
        gate = threading.Event()
        self._holds[method] = gate
        return gate

    def stop(self) -> None:
        for gate in self._holds.values():
            gate.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    # --- what it got --------------------------------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """The calls to `method` once there are at least `count` of them (AssertionError after `timeout`)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                calls = [c for c in self.calls if c.method == method]
                if len(calls) >= count:
                    return calls
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [c.method for c in self.calls]
                    raise AssertionError(f"expected {count} call(s) to {method} within {timeout} s; got {got}")
                self._lock.wait(left)

    def clear(self) -> None:
        with self._lock:
            self.calls.clear()

    # --- answers ------------------------------------------------------------------------------------

    def _answer(
        self, method: str, args: dict[str, Any], token: str | None, path: str
    ) -> tuple[int, Any, dict[str, str]]:
        gate = self._holds.get(method)
        if gate is not None:
            gate.wait(10)
        with self._lock:
            self.calls.append(Call(method, args, token, path))
            self._lock.notify_all()
            queue = self._failures.get(method)
            failure = queue.popleft() if queue else None
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            if failure.status >= 500:
                return failure.status, b"<html><body>Slack is having trouble</body></html>", headers
            if failure.status == 429:
                return 429, {"ok": False, "error": "ratelimited"}, headers
            return failure.status, {"ok": False, "error": failure.error or "fatal_error"}, headers
        if method == "respond":
            return 200, {"ok": True}, {}
        if token != self.token:
            return 200, {"ok": False, "error": "invalid_auth"}, {}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        body = handler(args) if handler else {"ok": True}
        return 200, body, {}

    def _next_ts(self) -> str:
        return f"1772700000.{next(self._ts):06d}"

    def _channel_id(self, channel: str) -> str | None:
        if channel.startswith("#"):
            return self.channels.get(channel)
        if channel[:1] in ("U", "W"):
            return "D" + channel[1:]  # a message to a person goes to their DM with the app
        return channel

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T1", "team": "Shop"}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:  # Slack's method name
        channel = self._channel_id(str(args.get("channel", "")))
        if channel is None:
            return {"ok": False, "error": "channel_not_found"}
        return {
            "ok": True,
            "channel": channel,
            "ts": self._next_ts(),
            "message": {"text": args.get("text"), "blocks": args.get("blocks")},
        }

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "channel": args.get("channel"), "ts": args.get("ts"), "text": args.get("text")}

    def _chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {"id": "VOPENED", **(args.get("view") or {})}}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {"id": "VHOME", **(args.get("view") or {})}}

    def _users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user = self.users.get(str(args.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        profile = {"real_name": user.name, **({"email": user.email} if user.email else {})}
        return {"ok": True, "user": {"id": user.id, "name": user.name, "is_bot": user.is_bot, "profile": profile}}

    def _users_lookupByEmail(self, args: dict[str, Any]) -> dict[str, Any]:
        email = str(args.get("email", "")).lower()
        for user in self.users.values():
            if (user.email or "").lower() == email:
                return {"ok": True, "user": {"id": user.id, "name": user.name, "profile": {"email": user.email}}}
        return {"ok": False, "error": "users_not_found"}
