"""Process settings; Settings.from_env is the only reader of os.environ."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

PACKAGE_DIR = Path(__file__).resolve().parent.parent  # the hub package
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_BASE_URL = "http://127.0.0.1:5000"
DEFAULT_SLACK_COMMAND = "/returns"


@dataclass(frozen=True)
class Settings:
    """Everything the app reads from its environment."""

    instance_dir: Path
    database_url: str
    secret_key: str | None = None
    config_path: Path | None = None
    base_url: str = DEFAULT_BASE_URL
    smtp_url: str | None = None
    mail_from: str = "Returns Hub <returns@localhost>"
    slack_bot_token: str | None = None
    slack_signing_secret: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    slack_command: str = DEFAULT_SLACK_COMMAND
    outbox_max_attempts: int = 8
    smtp_timeout: int = 15  # seconds: connecting and every SMTP command but the end of DATA
    smtp_data_timeout: int = 600  # seconds: the answer to the end of DATA (RFC 5321 4.5.3.2.6 says 10 minutes)
    trusted_proxies: int = 0  # reverse proxies in front whose X-Forwarded-* headers are believed
    metrics_token: str | None = None  # the bearer token GET /metrics needs; unset: /metrics is off (404)
    # prometheus_client's multi-process mode: the folder the processes of one host share their samples in
    prometheus_multiproc_dir: Path | None = None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read HUB_*, SLACK_* and PROMETHEUS_MULTIPROC_DIR; empty values count as unset."""
        env = {k: v for k, v in (os.environ if environ is None else environ).items() if v != ""}
        instance_dir = Path(env.get("HUB_INSTANCE_DIR", "instance")).resolve()
        settings = cls(
            instance_dir=instance_dir,
            database_url=env.get("HUB_DATABASE_URL") or f"sqlite:///{instance_dir / 'returns-hub.sqlite3'}",
            secret_key=env.get("HUB_SECRET_KEY"),
            config_path=Path(env["HUB_CONFIG"]) if "HUB_CONFIG" in env else None,
            base_url=env.get("HUB_BASE_URL", DEFAULT_BASE_URL).rstrip("/"),
            smtp_url=env.get("HUB_SMTP_URL"),
            mail_from=env.get("HUB_MAIL_FROM", cls.mail_from),
            slack_bot_token=env.get("SLACK_BOT_TOKEN"),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET"),
            slack_api_url=env.get("SLACK_API_URL", DEFAULT_SLACK_API_URL),
            slack_command=_slash_command(env.get("HUB_SLACK_COMMAND", DEFAULT_SLACK_COMMAND)),
            outbox_max_attempts=_positive_int(env, "HUB_OUTBOX_MAX_ATTEMPTS", 8),
            smtp_timeout=_positive_int(env, "HUB_SMTP_TIMEOUT", 15),
            smtp_data_timeout=_positive_int(env, "HUB_SMTP_DATA_TIMEOUT", 600),
            trusted_proxies=_count(env, "HUB_TRUSTED_PROXIES", 0),
            metrics_token=_token(env, "HUB_METRICS_TOKEN"),
            prometheus_multiproc_dir=_directory(env, "PROMETHEUS_MULTIPROC_DIR"),
        )
        return replace(settings, **overrides) if overrides else settings

    @property
    def slack_enabled(self) -> bool:
        """Whether the Slack app is configured (both its bot token and its signing secret)."""
        return bool(self.slack_bot_token and self.slack_signing_secret)

    @property
    def is_sqlite(self) -> bool:
        """Whether the database is an SQLite file."""
        return self.database_url.startswith("sqlite")


def templates_dir() -> Path:
    """The templates folder: inside the installed package, or at the top of a source checkout."""
    installed = PACKAGE_DIR / "templates"
    return installed if installed.is_dir() else PACKAGE_DIR.parent / "templates"


# What customer e-mails and the status page are written in, each language in its own name: the one list the
# new-return form, the status page's language links and the choice of a customer's language follow. Every
# language but English needs a complete catalog in hub/translations/<code>/ (tests/web/test_translations.py).
CUSTOMER_LANGUAGES: Mapping[str, str] = MappingProxyType({"en": "English", "nl": "Nederlands", "de": "Deutsch"})


def customer_language(locale: str | None) -> str:
    """The language a customer is written to in: theirs (nl-BE -> nl) when we have it, else English."""
    lang = (locale or "en").replace("-", "_").split("_")[0].lower()
    return lang if lang in CUSTOMER_LANGUAGES else "en"


def translations_dir() -> Path:
    """The message catalogs (Flask-Babel's and the e-mails')."""
    return PACKAGE_DIR / "translations"


class SettingsError(ValueError):
    """An environment variable has a value that cannot be used."""


def _positive_int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise SettingsError(f"{name} must be a whole number of at least 1, got {raw!r}")
    return int(raw)


def _slash_command(raw: str) -> str:
    name = raw.strip()
    name = name if name.startswith("/") else f"/{name}"
    if not re.fullmatch(r"/[a-z0-9_-]{1,31}", name):
        raise SettingsError(f"HUB_SLACK_COMMAND must be a slash command like /returns, got {raw!r}")
    return name


def _count(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None:
        return default
    if not raw.strip().isdigit() or int(raw) > 10:
        raise SettingsError(f"{name} must be a whole number from 0 to 10, got {raw!r}")
    return int(raw)


METRICS_TOKEN_MIN_LENGTH = 16


def _token(env: Mapping[str, str], name: str) -> str | None:
    raw = env.get(name)
    if raw is None:
        return None
    if len(raw) < METRICS_TOKEN_MIN_LENGTH or not raw.isascii() or not raw.isprintable() or " " in raw:
        raise SettingsError(
            f"{name} must be at least {METRICS_TOKEN_MIN_LENGTH} printable ASCII characters without spaces, "
            "e.g. the output of python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return raw


def _directory(env: Mapping[str, str], name: str) -> Path | None:
    raw = env.get(name)
    if raw is None:
        return None
    path = Path(raw)
    if not path.is_dir():
        raise SettingsError(f"{name} must be an existing directory, got {raw!r}")
    return path
