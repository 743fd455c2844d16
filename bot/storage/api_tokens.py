"""Per-staff API tokens for the dashboard's JSON API: shown once, stored hashed, revocable.

A token is 32 random bytes, so a plain SHA-256 of it is enough to store (nobody can guess
its preimage) and is cheap to check on every API call, unlike a password hash. The token
acts as its staff member with that member's role; disabling the account stops its tokens.
Callers own the session and the transaction; nothing here commits.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import List, Optional, Tuple

from sqlalchemy import String, select
from sqlalchemy.orm import Session

from bot.storage import columns
from bot.storage.db import utcnow
from bot.storage.models import Base, StaffUser

TOKEN_PREFIX = "aft_"
HINT_LENGTH = 10


class ApiToken(Base):
    """One API token of a staff member (only its hash and a short visible prefix are kept)."""

    __tablename__ = "aftercare_api_tokens"

    id = columns.primary_id()
    staff_id = columns.parent_id("aftercare_staff.id")
    token_hash = columns.required(String(64), unique=True)
    # The first characters, so staff can tell their tokens apart in a listing.
    hint = columns.required(String(16))
    created_at = columns.utc_now()
    last_used_at = columns.utc_time()
    revoked_at = columns.utc_time()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(
    *, session: Session, staff: StaffUser, now: Optional[datetime] = None
) -> Tuple[ApiToken, str]:
    """Create a token for ``staff``; return the row and the token itself (shown once, never stored)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        staff_id=staff.id, token_hash=_digest(token), hint=token[:HINT_LENGTH], created_at=now or utcnow()
    )
    session.add(row)
    session.flush()
    return row, token


def staff_for_token(
    *, session: Session, token: Optional[str], now: Optional[datetime] = None
) -> Optional[StaffUser]:
    """The enabled staff member a live token belongs to (None for anything else); notes its use."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    statement = (
        select(ApiToken, StaffUser)
        .join(StaffUser, StaffUser.id == ApiToken.staff_id)
        .where(ApiToken.token_hash == _digest(token), ApiToken.revoked_at.is_(None))
    )
    found = session.execute(statement).first()
    if found is None:
        return None
    row, staff = found
    if not staff.active:
        return None
    row.last_used_at = now or utcnow()
    return staff


def tokens_of(*, session: Session, staff: StaffUser) -> List[ApiToken]:
    """A staff member's tokens, newest first."""
    statement = select(ApiToken).where(ApiToken.staff_id == staff.id).order_by(ApiToken.id.desc())
    return list(session.execute(statement).scalars())


def revoke_tokens(
    *, session: Session, staff: StaffUser, hint: Optional[str] = None, now: Optional[datetime] = None
) -> int:
    """Revoke the staff member's live tokens (only the one starting with ``hint``, if given)."""
    count = 0
    for row in tokens_of(session=session, staff=staff):
        if row.revoked_at is None and (hint is None or row.hint.startswith(hint[:HINT_LENGTH])):
            row.revoked_at = now or utcnow()
            count += 1
    return count
