"""Teams and users."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Column, Enum, ForeignKey, String, Table
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hub.core.db import Base, enum_values, utcnow


class Role(enum.Enum):
    """What a user may do beyond their teams' stages."""

    ADMIN = "admin"
    LEAD = "lead"
    MEMBER = "member"


memberships = Table(
    "memberships",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("team_key", ForeignKey("teams.key", ondelete="CASCADE"), primary_key=True),
)


class Team(Base):
    """A team as stored; its calendar and stages live in the workflow configuration."""

    __tablename__ = "teams"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    color: Mapped[str] = mapped_column(String(7), default="#64748b")

    members: Mapped[list[User]] = relationship(secondary=memberships, back_populates="teams")

    def __repr__(self) -> str:
        return f"<Team {self.key}>"


class User(Base):
    """Someone on one of the teams (or an admin)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        Enum(Role, name="role", native_enum=False, create_constraint=True, values_callable=enum_values, length=10),
        default=Role.MEMBER,
    )
    slack_user_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    # the zone this person reads times in (an IANA name); none: their first team's
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # when this person last loaded the board: cards that reached a column after it are shown as new
    board_seen_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    teams: Mapped[list[Team]] = relationship(secondary=memberships, back_populates="members", order_by="Team.key")

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"

    # what a session login (Flask-Login) asks of a user, without importing it here
    is_authenticated = True
    is_anonymous = False

    def get_id(self) -> str:
        """What a login's cookies carry: "<user id>:<key of the login>" (see hub.accounts.logins)."""
        key = self.login_key
        if key is None:
            raise RuntimeError(f"{self!r} carries no login: start one (hub.accounts.logins.start_login) first")
        return f"{self.id}:{key}"

    @property
    def login_key(self) -> str | None:
        """The key of the login this object was loaded for or logged in with (not stored: its hash is)."""
        key: str | None = self.__dict__.get("_login_key")
        return key

    def attach_login(self, key: str) -> None:
        """Carry this login's key, for the cookies (`get_id`) and to tell this browser's login apart."""
        self.__dict__["_login_key"] = key  # a plain attribute, no column: the mapper never sees it

    @property
    def team_keys(self) -> frozenset[str]:
        """Keys of the teams this user belongs to."""
        return frozenset(t.key for t in self.teams)

    @property
    def is_lead_or_admin(self) -> bool:
        """Leads and admins may act on any stage."""
        return self.role in (Role.LEAD, Role.ADMIN)

    @property
    def initials(self) -> str:
        """Two letters for a card's avatar."""
        return initials_of(self.name)


def initials_of(name: str | None) -> str:
    """Two letters for an avatar: first and last name's first letters."""
    parts = [p for p in (name or "").replace("-", " ").split() if p]
    if not parts:
        return "?"
    return (parts[0][0] + (parts[-1][0] if len(parts) > 1 else "")).upper()


class LoginSession(Base):
    """One login on one browser: its cookies carry a random key whose hash is kept here.

    Logging out deletes the row, so a copied session or remember-me cookie stops working at once;
    "log out everywhere" and a password change delete all of a user's rows.
    """

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)  # SHA-256 (hex) of the key in the cookies
    remember: Mapped[bool] = mapped_column(default=False)  # a remember-me login, kept for 30 days
    user_agent: Mapped[str | None] = mapped_column(String(200))  # to tell one's browsers apart on /account
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)  # updated at most every few minutes

    def __repr__(self) -> str:
        return f"<LoginSession {self.id} of user {self.user_id}>"


class LoginAttempt(Base):
    """A failed login, kept briefly to slow down password guessing (shared by every app server)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    ip: Mapped[str] = mapped_column(String(45), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<LoginAttempt {self.email} from {self.ip}>"
