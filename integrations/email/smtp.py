"""SMTP connection settings from HUB_SMTP_URL, and sending one message."""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote, urlsplit

from hub.notifications.delivery import DeliveryError, DeliveryUnknown

if TYPE_CHECKING:
    from typing_extensions import Buffer  # collections.abc.Buffer from Python 3.12

TIMEOUT = 15  # seconds; a hung server must not hold the dispatcher
DATA_TIMEOUT = 600  # seconds for the answer to the end of DATA: RFC 5321 (4.5.3.2.6) says 10 minutes


class _NoAnswerAfterData(Exception):
    """The server got the whole message but did not answer its end: it may have it."""


def _data(client: smtplib.SMTP, msg: Buffer | str, data_timeout: float) -> tuple[int, bytes]:
    """smtplib's DATA, waiting `data_timeout` (not the commands' timeout) for the answer to the final "."."""
    client.putcmd("data")
    code, reply = client.getreply()
    if code != 354:
        raise smtplib.SMTPDataError(code, reply)
    raw = msg.encode("ascii") if isinstance(msg, str) else bytes(msg)
    quoted = re.sub(rb"(?m)^\.", b"..", raw)
    if not quoted.endswith(b"\r\n"):
        quoted += b"\r\n"
    client.send(quoted + b".\r\n")
    try:
        if client.sock is not None:
            client.sock.settimeout(data_timeout)
        code, reply = client.getreply()
    except (OSError, smtplib.SMTPServerDisconnected) as exc:
        raise _NoAnswerAfterData(str(exc)) from None
    if client.sock is not None:
        client.sock.settimeout(client.timeout)
    return code, reply


class _Smtp(smtplib.SMTP):
    data_timeout: float = DATA_TIMEOUT

    def data(self, msg: Buffer | str) -> tuple[int, bytes]:
        return _data(self, msg, self.data_timeout)


class _SmtpSsl(smtplib.SMTP_SSL):
    data_timeout: float = DATA_TIMEOUT

    def data(self, msg: Buffer | str) -> tuple[int, bytes]:
        return _data(self, msg, self.data_timeout)


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send: smtp:// (optionally ?starttls=true), smtp+starttls://, or smtps://."""

    host: str
    port: int
    security: str  # "plain", "starttls" or "ssl"
    username: str | None = None
    password: str | None = None
    timeout: float = TIMEOUT  # connecting and every command but the end of DATA
    data_timeout: float = DATA_TIMEOUT  # the answer to the end of DATA

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """Parse HUB_SMTP_URL; ValueError names what is wrong."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps", "smtp+starttls"):
            raise ValueError(f"HUB_SMTP_URL must start with smtp://, smtp+starttls:// or smtps://, got {url!r}")
        if not parts.hostname:
            raise ValueError(f"HUB_SMTP_URL has no host: {url!r}")
        query = {k.lower(): v[-1].lower() for k, v in parse_qs(parts.query).items()}
        starttls = scheme == "smtp+starttls" or query.get("starttls") in ("1", "true", "yes", "on")
        security = "ssl" if scheme == "smtps" else "starttls" if starttls else "plain"
        try:
            port = parts.port or {"ssl": 465, "starttls": 587, "plain": 25}[security]
        except ValueError as exc:
            raise ValueError(f"HUB_SMTP_URL has a bad port: {exc}") from None
        return cls(
            parts.hostname,
            port,
            security,
            unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None,
        )

    def send(self, message: EmailMessage) -> None:
        """Send one message; DeliveryError (permanent for refused recipients) when it cannot be sent,
        DeliveryUnknown when the server did not answer the end of the message (it may have it).

        It returns as soon as the server has accepted the message (its 250 to the end of DATA): a failed QUIT
        after that is no failure, so it causes no second copy.
        """
        try:
            client: _Smtp | _SmtpSsl
            if self.security == "ssl":
                client = _SmtpSsl(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
            else:
                client = _Smtp(self.host, self.port, timeout=self.timeout)
            client.data_timeout = self.data_timeout
            try:
                if self.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(message)
            except BaseException:
                client.close()
                raise
            try:
                client.quit()  # accepted: whatever QUIT answers, the message is on its way
            except (OSError, smtplib.SMTPException):
                client.close()
        except _NoAnswerAfterData as exc:
            raise DeliveryUnknown(
                f"delivery unknown: the SMTP server {self.host}:{self.port} got the whole message but did not "
                f"confirm it within {self.data_timeout:g} s ({exc}); it may have it, so it is tried again "
                "later with the same Message-ID"
            ) from None
        except smtplib.SMTPRecipientsRefused as exc:
            detail = "; ".join(
                f"{rcpt}: {code} {msg.decode(errors='replace')}" for rcpt, (code, msg) in exc.recipients.items()
            )
            permanent = all(code >= 500 for code, _ in exc.recipients.values())
            raise DeliveryError(f"recipient refused: {detail}", permanent=permanent) from None
        except smtplib.SMTPResponseException as exc:
            text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
            raise DeliveryError(f"SMTP server said {exc.smtp_code} {text}") from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"cannot reach the SMTP server {self.host}:{self.port}: {exc}") from None
