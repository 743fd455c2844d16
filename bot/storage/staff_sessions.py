"""Server-side dashboard sessions: a signed cookie alone can no longer keep someone logged in.

The cookie carries a random token; this table says whether that token is still alive.
Logout ends it, a password change or a disabled account ends all of the person's
sessions, and every session dies at its absolute expiry however busy it was.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Optional

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.storage.security_models import StaffSession


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def start(*, session: Session, user_id: int, lifetime: timedelta, now: datetime) -> str:
    """Open a session for ``user_id`` and return the token to put in the cookie."""
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(token_digest=_digest(token), user_id=user_id, created_at=now, expires_at=now + lifetime)
    )
    session.flush()
    return token


def live(*, session: Session, token: Optional[str], now: datetime) -> Optional[StaffSession]:
    """Return the session for ``token`` if it was neither ended nor expired."""
    if not token or len(token) > 128:
        return None
    found = session.execute(
        select(StaffSession).where(StaffSession.token_digest == _digest(token))
    ).scalars().first()
    if found is None or found.ended_at is not None or found.expires_at <= now:
        return None
    return found


def end(*, session: Session, token: Optional[str], reason: str, now: datetime) -> None:
    """End one session (logout)."""
    if not token:
        return
    session.execute(
        update(StaffSession)
        .where(StaffSession.token_digest == _digest(token), StaffSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )


def end_all(*, session: Session, user_id: int, reason: str, now: datetime) -> None:
    """End every open session of one person (password change, account disabled)."""
    session.execute(
        update(StaffSession)
        .where(StaffSession.user_id == user_id, StaffSession.ended_at.is_(None))
        .values(ended_at=now, end_reason=reason)
    )
