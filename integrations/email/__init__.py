"""E-mail delivery: SMTP through HUB_SMTP_URL, or .eml files in the instance folder without it."""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from pathlib import Path

from hub.core.config import Settings
from hub.notifications.models import Notification
from hub.workflow import Workflow
from integrations.email.render import MailRenderer
from integrations.email.smtp import SmtpConfig

log = logging.getLogger(__name__)


class EmailDelivery:
    """The outbox's e-mail adapter."""

    channel = "email"

    def __init__(self, settings: Settings, workflow: Workflow) -> None:
        self.renderer = MailRenderer(settings, workflow)
        self.smtp = (
            replace(
                SmtpConfig.from_url(settings.smtp_url),
                timeout=settings.smtp_timeout,
                data_timeout=settings.smtp_data_timeout,
            )
            if settings.smtp_url
            else None
        )
        self.folder = settings.instance_dir / "mail"

    def describe(self) -> str:
        """Where mail goes, for logs and the health page."""
        if self.smtp:
            return f"SMTP {self.smtp.host}:{self.smtp.port} ({self.smtp.security})"
        return f"files in {self.folder}"

    def send(self, notification: Notification) -> str | None:
        """Render and send one notification; returns the .eml path when writing files."""
        message = self.renderer.render(notification)
        if self.smtp:
            self.smtp.send(message)
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9._-]+", "_", f"{notification.id:08d}-{notification.kind}-{notification.recipient}")
        path: Path = self.folder / f"{safe}.eml"
        path.write_bytes(message.as_bytes())
        log.info("HUB_SMTP_URL is not set: wrote %s to %s", message["Subject"], path)
        return str(path)
