"""SMTP connection settings from HUB_SMTP_URL, and sending one message."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from hub.notifications.delivery import DeliveryError

TIMEOUT = 15  # seconds; a hung server must not hold the dispatcher


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to send: smtp:// (optionally ?starttls=true), smtp+starttls://, or smtps://."""

    host: str
    port: int
    security: str  # "plain", "starttls" or "ssl"
    username: str | None = None
    password: str | None = None

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
        """Send one message; DeliveryError (permanent for refused recipients) when it cannot be sent."""
        try:
            client: smtplib.SMTP
            if self.security == "ssl":
                client = smtplib.SMTP_SSL(self.host, self.port, timeout=TIMEOUT, context=ssl.create_default_context())
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=TIMEOUT)
            with client:
                if self.security == "starttls":
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(message)
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
