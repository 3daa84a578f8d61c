"""Renders a notification into a multipart (text and HTML) e-mail, in the recipient's language."""

from __future__ import annotations

from datetime import date, datetime
from email.message import EmailMessage
from email.utils import formatdate, getaddresses, parseaddr
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from babel.support import NullTranslations, Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape

from hub.core.addresses import is_one_address
from hub.core.config import Settings, customer_language, templates_dir, translations_dir
from hub.core.timefmt import short_date, short_time, zone_name, zone_named
from hub.notifications.delivery import DeliveryError
from hub.notifications.models import Notification
from hub.workflow import Workflow

STAFF_LOCALE = "en"


@lru_cache(maxsize=8)
def _translations(lang: str) -> NullTranslations:
    return Translations.load(str(translations_dir()), [lang], domain="messages")


class MailRenderer:
    """Templates under templates/email/: <kind>.txt (which sets `subject`) and <kind>.html."""

    def __init__(self, settings: Settings, workflow: Workflow) -> None:
        self.settings = settings
        self.workflow = workflow
        name, address = parseaddr(settings.mail_from)
        if "@" not in address:
            raise ValueError(f"HUB_MAIL_FROM is not an e-mail address: {settings.mail_from!r}")
        self.sender = settings.mail_from
        self.shop_name = name or "Returns Hub"
        self.domain = address.rsplit("@", 1)[1]
        self.zone = workflow.shop_zone
        self._envs: dict[tuple[str, bool], Environment] = {}

    def _env(self, lang: str, html: bool) -> Environment:
        key = (lang, html)
        if key not in self._envs:
            env = Environment(
                loader=FileSystemLoader(str(templates_dir())),
                extensions=["jinja2.ext.i18n"],
                autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False) if html else False,
                undefined=StrictUndefined,
                keep_trailing_newline=True,
            )
            env.install_gettext_translations(_translations(lang), newstyle=True)  # type: ignore[attr-defined]
            env.filters["day"] = pass_context(
                lambda ctx, iso: self._day(iso, lang, ctx.get("zone", self.zone), staff=ctx.get("staff", False))
            )
            env.filters["when"] = pass_context(lambda ctx, iso: self._when(iso, lang, ctx.get("zone", self.zone)))
            self._envs[key] = env
        return self._envs[key]

    def _day(self, iso: str | None, lang: str, zone: ZoneInfo, *, staff: bool) -> str:
        if not iso:
            return ""
        # a date alone ("2026-03-05", a digest's day) is that day; a moment is its day in the zone
        day = date.fromisoformat(iso) if len(iso) == 10 else datetime.fromisoformat(iso).astimezone(zone).date()
        return short_date(day) if staff else format_date(day, "long", locale=lang)

    def _when(self, iso: str | None, lang: str, zone: ZoneInfo) -> str:
        if not iso:
            return "—"
        if lang == STAFF_LOCALE:  # staff read times the one way the pages show them, the zone named
            return short_time(datetime.fromisoformat(iso), zone, named=True)
        local = datetime.fromisoformat(iso).astimezone(zone)
        return f"{format_datetime(local, 'EEE d MMM HH:mm', locale=lang)} {zone_name(local)}"

    def zone_for(self, n: Notification) -> ZoneInfo:
        """The zone a message's times are in: the shop's for customers; the recipient's own when they chose one
        (the payload's `zone`), else the team's."""
        if n.kind == "customer_update":
            return self.zone
        try:
            return zone_named(str(n.payload["zone"]))
        except (KeyError, ValueError):
            team = self.workflow.teams.get(str(n.payload.get("team") or ""))
            return team.timezone if team else self.zone

    def thread_id(self, rma: str) -> str:
        """The Message-ID every message about one return refers to, so they thread as one conversation."""
        return f"<{rma.lower()}.returns@{self.domain}>"

    def context(self, n: Notification) -> dict[str, Any]:
        """What the templates see: the payload, links and the shop's name."""
        p = dict(n.payload)
        base = self.settings.base_url
        p.setdefault("note", None)
        p.setdefault("assignee", None)
        p.setdefault("last_comment", None)
        # what a customer update written before these keys existed lacks: no reason; today's return address
        p.setdefault("rejection_text", None)
        p.setdefault("return_address", list(self.workflow.shop.return_address))
        return {
            **p,
            "board_url": f"{base}/board",
            "return_url": f"{base}/returns/{p.get('rma', '')}",
            "status_url": f"{base}/status/{p.get('status_token', '')}",
            "shop_name": self.shop_name,
        }

    def render(self, n: Notification) -> EmailMessage:
        """The e-mail for one notification; a permanent DeliveryError when its recipient is not exactly one address
        (the last line of defence: a "To" such as "x,victim@evil.example" would send it to two)."""
        if not is_one_address(n.recipient):
            raise DeliveryError(
                f"the recipient {n.recipient!r} is not exactly one e-mail address; the {n.kind} message was not sent",
                permanent=True,
            )
        lang = customer_language(n.payload.get("locale")) if n.kind == "customer_update" else STAFF_LOCALE
        zone = self.zone_for(n)
        ctx = {**self.context(n), "lang": lang, "zone": zone, "staff": n.kind != "customer_update"}
        text_template = self._env(lang, html=False).get_template(f"email/{n.kind}.txt")
        module = text_template.make_module(ctx)
        subject = " ".join(str(getattr(module, "subject", "")).split()) or "Returns Hub"
        text = str(module)
        html = self._env(lang, html=True).get_template(f"email/{n.kind}.html").render({**ctx, "subject": subject})

        msg = EmailMessage()
        msg["Subject"] = subject
        msg["From"] = self.sender
        msg["To"] = n.recipient
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = f"<{n.message_key}@{self.domain}>"
        if n.payload.get("rma"):
            root = self.thread_id(n.payload["rma"])
            msg["In-Reply-To"] = root
            msg["References"] = root
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Returns-Hub-Kind"] = n.kind
        if n.kind == "customer_update":
            reply = [a for _, a in getaddresses([self.sender])]
            if reply:
                msg["Reply-To"] = reply[0]
        msg.set_content(text)
        msg.add_alternative(html, subtype="html")
        # after the content: set_content() clears every Content-* header set before it
        msg["Content-Language"] = lang
        return msg
