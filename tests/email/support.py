"""E-mail test support: a real SMTP server in the test process (aiosmtpd), the public URL and sender, a handoff,
the outbox as a test reads it."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from hub.core.config import Settings
from hub.notifications.models import Notification
from hub.returns.models import Channel, Return
from hub.returns.permissions import Actor
from hub.workflow import Workflow
from tests.factories import make_return, make_user, move

BASE_URL = "https://returns.shop.example"
MAIL_FROM = "Shop Returns <returns@mail.shop.example>"
MAIL_DOMAIN = "mail.shop.example"


# --- the SMTP server ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One message as the SMTP server got it: the envelope and the parsed e-mail."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    login: str | None

    @property
    def message_id(self) -> str:
        return str(self.message["Message-ID"])

    def part(self, subtype: str) -> str:
        """The text/<subtype> body, with the wire's CRLF line ends made plain newlines."""
        body = self.message.get_body(preferencelist=(subtype,))
        assert body is not None, f"no text/{subtype} part"
        assert body.get_content_subtype() == subtype, f"no text/{subtype} part"
        return body.get_content().replace("\r\n", "\n")


class RecordingHandler:
    """Records every message; refuses the addresses in `refused` (with their code); accepts AUTH for `credentials`.

    A slow or odd server: `rcpt_delay` seconds before answering each RCPT (`rcpts` counts those begun),
    `answer_delay` seconds between recording a message and answering the end of its DATA (a relay that queues
    before it answers), `quit_reply` instead of "221 Bye".
    """

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.refused: dict[str, int] = {}
        self.credentials: tuple[str, str] | None = None
        self.rcpt_delay = 0.0
        self.rcpts = 0
        self.answer_delay = 0.0
        self.quit_reply: str | None = None

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        with self.lock:
            self.rcpts += 1
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        code = self.refused.get(address.lower())
        if code is not None:
            return f"{code} {code // 100}.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        message = BytesParser(policy=policy.default).parsebytes(raw)
        login = session.auth_data.decode() if isinstance(session.auth_data, bytes) else None
        with self.lock:
            self.received.append(Received(envelope.mail_from, tuple(envelope.rcpt_tos), message, login))
        if self.answer_delay:
            await asyncio.sleep(self.answer_delay)
        return "250 2.0.0 OK: queued"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        return self.quit_reply or "221 Bye"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.credentials is None:
            return AuthResult(success=False, handled=False)
        ok = (auth_data.login.decode(), auth_data.password.decode()) == self.credentials
        return AuthResult(success=ok, handled=False, auth_data=auth_data.login if ok else None)


def free_port() -> int:
    """A TCP port on 127.0.0.1 nobody listens on (aiosmtpd 1.4's Controller cannot bind port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """aiosmtpd on 127.0.0.1 that can be stopped and started again on the same port, keeping what it received."""

    host = "127.0.0.1"

    def __init__(self) -> None:
        self.port = free_port()
        self.handler = RecordingHandler()
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> None:
        assert self._controller is None, "already running"
        # a Controller's event loop is closed by stop(): every start needs a new one
        controller = Controller(
            self.handler,
            hostname=self.host,
            port=self.port,
            server_hostname="smtp.test",
            authenticator=self.handler.authenticate,
            auth_require_tls=False,
            ready_timeout=5,
        )
        try:
            controller.start()
        except BaseException:
            controller.stop(no_assert=True)  # joins the server thread, if it started
            if not controller.loop.is_closed():
                controller.loop.close()
            raise
        self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def refuse(self, address: str, code: int = 550) -> None:
        """Answer RCPT TO this address with `code` (550: permanently, 4xx: try again later)."""
        self.handler.refused[address.lower()] = code

    @property
    def received(self) -> list[Received]:
        with self.handler.lock:
            return list(self.handler.received)

    def to(self, address: str) -> list[Received]:
        """Messages whose envelope went to this address."""
        return [m for m in self.received if address in m.rcpt_tos]

    def count_by_message_id(self) -> Counter[str]:
        return Counter(m.message_id for m in self.received)


# --- settings, a handoff, the outbox -------------------------------------------------------------------


def mail_settings(settings: Settings) -> Settings:
    """The suite's settings with a public URL and a sender of our own (and no SMTP or Slack: see mail_runtime)."""
    return replace(
        settings, base_url=BASE_URL, mail_from=MAIL_FROM, smtp_url=None, slack_bot_token=None, slack_signing_secret=None
    )


def approve(
    session: Session,
    session_factory: sessionmaker[Session],
    workflow: Workflow,
    clock: Callable[[], datetime],
    **overrides: Any,
) -> Return:
    """A new return (by the system) approved by a customer-service member: a handoff to logistics."""
    member = make_user(session, team="customer_service", name="Chris Service")
    r = make_return(session, workflow, now=clock(), **overrides)
    session.commit()
    move(session_factory, workflow, r.rma, "approved", now=clock(), actor=Actor.person(member, Channel.WEB))
    return r


def outbox(session_factory: sessionmaker[Session], **where: Any) -> list[Notification]:
    """The outbox rows (filtered by column values), oldest first, read in a fresh session."""
    with session_factory() as s:
        stmt = select(Notification).filter_by(**where).order_by(Notification.id)
        return list(s.scalars(stmt))


def by_recipient(rows: list[Notification]) -> dict[str, Notification]:
    """The rows by recipient (one row per recipient expected)."""
    return {n.recipient: n for n in rows}
