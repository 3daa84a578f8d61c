"""Who is acting: Slack users mapped to hub users by their e-mail address or an admin-set Slack user id."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_sdk import WebClient
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from hub.accounts.models import User
from hub.accounts.services import normalize_email
from hub.core.runtime import Runtime
from integrations.slack.context import SLACK_CALL_ERRORS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Person:
    """A Slack user and the hub user they act as (None, with the reason, when there is none)."""

    slack_user_id: str
    user_id: int | None = None
    name: str = ""
    problem: str = ""

    @property
    def is_mapped(self) -> bool:
        """Whether the Slack user may act as a hub user."""
        return self.user_id is not None

    @property
    def refusal(self) -> str:
        """What an unmapped user is told."""
        return (
            f"{self.problem} Ask an admin to add you to Returns Hub (with your Slack member ID "
            f"{self.slack_user_id}); until then you can look and change nothing from Slack."
        )


def load_user(session: Session, user_id: int) -> User | None:
    """An active hub user with their teams (what permissions need), or None."""
    user = session.scalar(select(User).where(User.id == user_id).options(selectinload(User.teams)))
    return user if user is not None and user.is_active else None


def known_person(runtime: Runtime, slack_user_id: str) -> Person | None:
    """The hub user already linked to this Slack user, from the database only (no Slack call)."""
    with runtime.read_session_factory() as s:
        user = s.scalar(select(User).where(User.slack_user_id == slack_user_id))
        if user is None:
            return None
        if not user.is_active:
            return Person(slack_user_id, problem=f"Your Returns Hub account ({user.email}) is deactivated.")
        return Person(slack_user_id, user.id, user.name)


def who_is(runtime: Runtime, client: WebClient, slack_user_id: str) -> Person:
    """The hub user behind a Slack user: linked already, or found by the e-mail Slack has for them (then linked)."""
    person = known_person(runtime, slack_user_id)
    if person is not None:
        return person
    try:
        info = client.users_info(user=slack_user_id)
    except SLACK_CALL_ERRORS as exc:
        log.warning("users.info for %s failed: %s", slack_user_id, exc)
        return Person(slack_user_id, problem="Returns Hub could not look you up in Slack just now.")
    profile = (info.get("user") or {}).get("profile") or {}
    if (info.get("user") or {}).get("is_bot"):
        return Person(slack_user_id, problem="Bots cannot act in Returns Hub.")
    email = normalize_email(str(profile.get("email") or ""))
    if not email:
        return Person(
            slack_user_id,
            problem="Slack did not share your e-mail address with Returns Hub "
            "(the app needs the users:read.email scope).",
        )
    return link_by_email(runtime, slack_user_id, email)


def link_by_email(runtime: Runtime, slack_user_id: str, email: str) -> Person:
    """Link the hub user with this e-mail to the Slack user, unless an admin linked them elsewhere."""
    try:
        with runtime.unit_of_work() as s:
            user = s.scalar(select(User).where(User.email == normalize_email(email)))
            if user is None:
                return Person(slack_user_id, problem=f"No Returns Hub user has your Slack e-mail address ({email}).")
            if not user.is_active:
                return Person(slack_user_id, problem=f"Your Returns Hub account ({user.email}) is deactivated.")
            if user.slack_user_id and user.slack_user_id != slack_user_id:
                return Person(
                    slack_user_id, problem=f"The Returns Hub user {user.email} is linked to another Slack account."
                )
            user.slack_user_id = slack_user_id
            log.info("linked Slack user %s to %s by e-mail", slack_user_id, user.email)
            return Person(slack_user_id, user.id, user.name)
    except IntegrityError:
        # two requests of one new user at once: the other one linked them
        return known_person(runtime, slack_user_id) or Person(slack_user_id, problem="Linking you failed; try again.")


def slack_id_of(runtime: Runtime, client: WebClient, user_id: int) -> str | None:
    """A hub user's Slack user id: stored, or found by their e-mail (users.lookupByEmail) and stored."""
    with runtime.read_session_factory() as s:
        user = s.get(User, user_id)
        if user is None:
            return None
        if user.slack_user_id:
            return user.slack_user_id
        email = user.email
    try:
        found = client.users_lookupByEmail(email=email)
    except SLACK_CALL_ERRORS as exc:
        log.info("users.lookupByEmail for %s found nobody: %s", email, exc)
        return None
    slack_user_id = str((found.get("user") or {}).get("id") or "")
    if not slack_user_id:
        return None
    try:
        with runtime.unit_of_work() as s:
            taken = s.scalar(select(User.id).where(User.slack_user_id == slack_user_id))
            user = s.get(User, user_id)
            if taken is None and user is not None and not user.slack_user_id:
                user.slack_user_id = slack_user_id
    except IntegrityError:
        pass
    return slack_user_id
