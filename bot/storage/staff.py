"""Staff accounts: argon2 password hashes, roles, and throttled logins (never a hard lockout)."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage import login_throttle, staff_sessions
from bot.storage.db import utcnow
from bot.storage.login_throttle import ThrottlePolicy
from bot.storage.models import StaffUser
from bot.storage.vocabulary import ROLE_ADMIN, STAFF_ROLES

MIN_PASSWORD_LENGTH = 10
USERNAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")

# Module-level so tests can swap in cheaper parameters; production uses argon2-cffi's defaults.
password_hasher = PasswordHasher()
_dummy_hashes: dict = {}


class StaffError(ValueError):
    """Raised for an invalid username, role or password, a duplicate account, or the last admin.

    ``code`` names the problem so the dashboard can show its own sentence for it.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LoginResult:
    """What happened to a login attempt. ``reason`` is for the audit log, never for the user."""

    user: Optional[StaffUser]
    reason: str  # ok, unknown_user, bad_password, disabled, throttled
    alert_raised: bool = False  # this failure opened a security alert for admins

    @property
    def ok(self) -> bool:
        return self.reason == "ok"


def normalise_username(username: str) -> str:
    """Return the canonical (trimmed, lower-case) form of a username."""
    return username.strip().lower()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise StaffError("weak_password", f"the password must have at least {MIN_PASSWORD_LENGTH} characters")


def get_staff(*, session: Session, username: str) -> Optional[StaffUser]:
    """Return the account with this username, if any."""
    statement = select(StaffUser).where(StaffUser.username == normalise_username(username))
    return session.execute(statement).scalars().first()


def list_staff(*, session: Session) -> List[StaffUser]:
    """Return every account, by username."""
    return list(session.execute(select(StaffUser).order_by(StaffUser.username)).scalars())


def count_active_admins(*, session: Session) -> int:
    """Count enabled admin accounts (the last one must not be disabled)."""
    statement = select(func.count(StaffUser.id)).where(
        StaffUser.role == ROLE_ADMIN, StaffUser.active.is_(True)
    )
    return int(session.execute(statement).scalar_one())


def create_staff(
    *, session: Session, username: str, password: str, role: str, now: Optional[datetime] = None
) -> StaffUser:
    """Create an enabled account; raises :class:`StaffError` on bad input or a taken name."""
    username = normalise_username(username)
    if not USERNAME_PATTERN.match(username):
        raise StaffError(
            "bad_username", "usernames are 2-64 characters: letters, digits, dot, dash, underscore"
        )
    if role not in STAFF_ROLES:
        raise StaffError("bad_role", f"unknown role {role!r}; expected one of {STAFF_ROLES}")
    _check_password(password)
    if get_staff(session=session, username=username) is not None:
        raise StaffError("duplicate_username", f"an account named {username!r} already exists")
    user = StaffUser(
        username=username,
        password_hash=password_hasher.hash(password),
        role=role,
        active=True,
        failed_logins=0,
        created_at=now or utcnow(),
    )
    session.add(user)
    session.flush()
    return user


def set_password(*, session: Session, user: StaffUser, password: str, now: Optional[datetime] = None) -> None:
    """Replace the password and end every session the person had open."""
    _check_password(password)
    user.password_hash = password_hasher.hash(password)
    user.failed_logins = 0
    user.locked_until = None
    session.flush()
    staff_sessions.end_all(session=session, user_id=user.id, reason="password_changed", now=now or utcnow())


def set_active(*, session: Session, user: StaffUser, active: bool) -> None:
    """Enable or disable an account; refuses to disable the last enabled admin."""
    if not active and user.active and user.role == ROLE_ADMIN and count_active_admins(session=session) <= 1:
        raise StaffError("last_admin", "cannot disable the last enabled admin account")
    user.active = active
    user.failed_logins = 0
    user.locked_until = None
    if not active:
        staff_sessions.end_all(session=session, user_id=user.id, reason="disabled", now=utcnow())


def authenticate(
    *,
    session: Session,
    username: str,
    password: str,
    address: Optional[str] = None,
    policy: ThrottlePolicy = ThrottlePolicy(),
    now: Optional[datetime] = None,
) -> LoginResult:
    """Check a login attempt from ``address``; failures delay only this user at this address.

    Every attempt verifies exactly one argon2 hash (a dummy one for unknown or throttled
    attempts), so the answer takes as long whatever the reason it fails.
    """
    now = now or utcnow()
    name = normalise_username(username)[:64]
    user = get_staff(session=session, username=name)
    throttled = login_throttle.blocked_until(session=session, username=name, address=address, now=now)
    if throttled is not None:
        _verify(_dummy_hash(), password)
        reason = "throttled"
    else:
        matches = _verify(user.password_hash if user is not None else _dummy_hash(), password)
        if user is not None and matches and user.active:
            login_throttle.record_success(session=session, username=name, address=address)
            user.last_login_at = now
            if password_hasher.check_needs_rehash(user.password_hash):
                user.password_hash = password_hasher.hash(password)
            return LoginResult(user, "ok")
        reason = "unknown_user" if user is None else ("bad_password" if not matches else "disabled")
    failures = login_throttle.record_failure(
        session=session,
        username=name,
        address=address,
        now=now,
        policy=policy,
        throttled=reason == "throttled",
    )
    alert = False
    if failures >= policy.alert_failures:
        alert = login_throttle.raise_alert(
            session=session, username=name, address=address, failures=failures, now=now
        )
    return LoginResult(user, reason, alert_raised=alert)


def _dummy_hash() -> str:
    """Return a hash to verify against for unknown usernames, so both cases take as long."""
    key = id(password_hasher)
    if key not in _dummy_hashes:
        _dummy_hashes.clear()
        _dummy_hashes[key] = password_hasher.hash(secrets.token_urlsafe(16))
    return str(_dummy_hashes[key])


def _verify(password_hash: str, password: str) -> bool:
    try:
        return password_hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
