"""The brake on password guessing: failed logins per e-mail and per client, counted one login at a time.

A login is counted as a failure before its password is checked (`claim_attempt`), and the count and
the claim happen under a lock per e-mail and per client, so parallel guesses on any number of app
servers get no more checks than the limit. A correct password forgets the e-mail's failures.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from hub.accounts.models import LoginAttempt

MAX_FAILURES_PER_EMAIL = 5
MAX_FAILURES_PER_IP = 30
WINDOW = timedelta(minutes=15)

# PostgreSQL advisory locks (two int4 keys: a namespace of this app's locks, then the thing locked)
_EMAIL_LOCKS = 0x4C4F45  # "LOE"
_IP_LOCKS = 0x4C4F49  # "LOI"


def _serialise(session: Session, email: str, ip: str) -> None:
    """Hold this e-mail's and this client's lock until the transaction ends.

    PostgreSQL: transaction-level advisory locks (always e-mail first, so two logins never wait for
    each other in a circle). SQLite: the caller's first write, the clean-up in `claim_attempt`, takes
    the database's write lock, which serialises every writer.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    session.execute(select(func.pg_advisory_xact_lock(_EMAIL_LOCKS, func.hashtext(email))))
    session.execute(select(func.pg_advisory_xact_lock(_IP_LOCKS, func.hashtext(ip))))


def claim_attempt(session: Session, email: str, ip: str, *, now: datetime) -> bool:
    """Record a login for `email` from `ip` as failed before its password is checked, and say True; or,
    when the e-mail or the client has reached its limit, record nothing and say False.

    The caller commits right away (that ends the lock) and then checks the password.
    """
    _serialise(session, email, ip)
    since = now - WINDOW
    session.execute(delete(LoginAttempt).where(LoginAttempt.at < since))
    by_email = session.scalar(
        select(func.count()).select_from(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.at >= since)
    )
    by_ip = session.scalar(
        select(func.count()).select_from(LoginAttempt).where(LoginAttempt.ip == ip, LoginAttempt.at >= since)
    )
    if (by_email or 0) >= MAX_FAILURES_PER_EMAIL or (by_ip or 0) >= MAX_FAILURES_PER_IP:
        return False
    session.add(LoginAttempt(email=email, ip=ip, at=now))
    session.flush()
    return True


def forget_failures(session: Session, email: str) -> None:
    """The password was right: the e-mail's failures (this login's claim too) no longer count."""
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email))
    session.flush()
