"""Users and teams: create, change passwords, authenticate, keep teams in step with the config."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session, selectinload
from werkzeug.security import check_password_hash, generate_password_hash

from hub.accounts.logins import end_all_logins
from hub.accounts.models import LoginAttempt, Role, Team, User
from hub.core.addresses import address_problem
from hub.core.errors import NotFound, ValidationFailed
from hub.core.timefmt import zone_named
from hub.workflow import Workflow

MIN_PASSWORD = 8
# a valid hash of nothing anyone can type, so unknown e-mails cost as much as wrong passwords
_DUMMY_HASH = generate_password_hash("not a password of anyone")


def normalize_email(email: str) -> str:
    """E-mail addresses compare case-insensitively."""
    return email.strip().lower()


def sync_teams(session: Session, workflow: Workflow) -> None:
    """Insert or update the teams table from the workflow configuration."""
    existing = {t.key: t for t in session.scalars(select(Team))}
    for key, cfg in workflow.teams.items():
        team = existing.get(key) or Team(key=key)
        team.name, team.color = cfg.name, cfg.color
        session.add(team)
    session.flush()


def add_user(
    session: Session,
    *,
    email: str,
    name: str,
    password: str,
    role: Role | str = Role.MEMBER,
    team_keys: list[str] | tuple[str, ...] = (),
    slack_user_id: str | None = None,
) -> User:
    """Create a user; ValidationFailed names each bad field."""
    errors: dict[str, str] = {}
    email = normalize_email(email)
    problem = address_problem(email)
    if problem:
        errors["email"] = problem
    elif session.scalar(select(User.id).where(User.email == email)) is not None:
        errors["email"] = f"a user with e-mail {email} already exists"
    if not name.strip():
        errors["name"] = "a name is needed"
    if len(password) < MIN_PASSWORD:
        errors["password"] = f"must be at least {MIN_PASSWORD} characters"
    try:
        role = Role(role) if isinstance(role, str) else role
    except ValueError:
        errors["role"] = f"unknown role {role!r}; roles are: {', '.join(r.value for r in Role)}"
    teams = list(session.scalars(select(Team).where(Team.key.in_(team_keys))))
    missing = sorted(set(team_keys) - {t.key for t in teams})
    if missing:
        known = ", ".join(session.scalars(select(Team.key).order_by(Team.key)))
        errors["teams"] = f"unknown team(s) {', '.join(missing)}; teams are: {known}"
    if slack_user_id and session.scalar(select(User.id).where(User.slack_user_id == slack_user_id)):
        errors["slack_user_id"] = f"Slack user {slack_user_id} already belongs to another user"
    if errors:
        raise ValidationFailed(errors)
    user = User(
        email=email,
        name=name.strip(),
        password_hash=generate_password_hash(password),
        role=role,
        teams=teams,
        slack_user_id=slack_user_id or None,
    )
    session.add(user)
    session.flush()
    return user


def get_user_by_email(session: Session, email: str) -> User:
    """The user with this e-mail, or NotFound."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)).options(selectinload(User.teams)))
    if user is None:
        raise NotFound(f"no user with e-mail {normalize_email(email)}")
    return user


def set_password(session: Session, email: str, password: str) -> User:
    """Replace a user's password."""
    if len(password) < MIN_PASSWORD:
        raise ValidationFailed({"password": f"must be at least {MIN_PASSWORD} characters"})
    user = get_user_by_email(session, email)
    user.password_hash = generate_password_hash(password)
    # a reset lifts the lock-out from failed logins, as the login page promises
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == user.email))
    end_all_logins(session, user.id)  # whoever knew the old password is logged out everywhere
    session.flush()
    return user


def log_out_user(session: Session, email: str) -> tuple[User, int]:
    """End every login of the user with this e-mail, on every browser (a lost laptop): the user and how many."""
    user = get_user_by_email(session, email)
    return user, end_all_logins(session, user.id)


def set_slack_user_id(session: Session, email: str, slack_user_id: str | None) -> User:
    """Link a user to their Slack member id (U…), or unlink them with None."""
    user = get_user_by_email(session, email)
    slack_user_id = (slack_user_id or "").strip() or None
    if slack_user_id is not None:
        if not re.fullmatch(r"[UW][A-Z0-9]{2,30}", slack_user_id):
            raise ValidationFailed({"slack_user_id": f"a Slack member id looks like U012AB3CD, got {slack_user_id!r}"})
        other = session.scalar(select(User).where(User.slack_user_id == slack_user_id, User.id != user.id))
        if other is not None:
            raise ValidationFailed({"slack_user_id": f"Slack user {slack_user_id} already belongs to {other.email}"})
    user.slack_user_id = slack_user_id
    session.flush()
    return user


def team_zone(user: User, workflow: Workflow) -> ZoneInfo:
    """The zone of the user's first team (by key) in the workflow; the shop's zone for someone in no team."""
    for key in sorted(user.team_keys):
        if key in workflow.teams:
            return workflow.teams[key].timezone
    return workflow.shop_zone


def zone_of(user: User, workflow: Workflow) -> ZoneInfo:
    """The zone this user reads times in: their own setting, else their team's."""
    if user.time_zone:
        try:
            return zone_named(user.time_zone)
        except ValueError:  # a zone this machine's time zone database no longer has
            pass
    return team_zone(user, workflow)


def set_time_zone(session: Session, email: str, time_zone: str | None) -> User:
    """Set the zone a user reads times in (an IANA name like Europe/Amsterdam), or None for their team's."""
    user = get_user_by_email(session, email)
    name = (time_zone or "").strip() or None
    if name is not None:
        try:
            zone_named(name)
        except ValueError as exc:
            raise ValidationFailed({"time_zone": str(exc)}) from None
    user.time_zone = name
    session.flush()
    return user


def mark_board_seen(session: Session, user_id: int, now: datetime) -> None:
    """Note that this person has just loaded the board: what reaches a column later is new to them."""
    session.execute(update(User).where(User.id == user_id).values(board_seen_at=now))


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None (in the same time either way)."""
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.is_active:
        return None
    return user


def list_users(session: Session) -> list[User]:
    """Every user, by name."""
    return list(session.scalars(select(User).options(selectinload(User.teams)).order_by(func.lower(User.name))))
