"""Tables for dashboard security: server-side sessions, login throttling, security alerts.

Imported by ``bot.storage.models`` so that ``Base.metadata`` (and the migrations' drift
check) always includes them.
"""

from __future__ import annotations

from sqlalchemy import Index, String, Text

from bot.storage import columns
from bot.storage.models import Base
from bot.storage.types import UTCDateTime


class StaffSession(Base):
    """One dashboard login. The cookie names it; logout or a password change ends it for good.

    Only a SHA-256 digest of the cookie's random id is stored, so a database reader cannot
    rebuild a live cookie from this table.
    """

    __tablename__ = "aftercare_staff_sessions"

    id = columns.primary_id()
    token_digest = columns.required(String(64), unique=True)
    user_id = columns.parent_id("aftercare_staff.id")
    created_at = columns.utc_now()
    expires_at = columns.required(UTCDateTime)
    ended_at = columns.utc_time()
    end_reason = columns.optional(String(32))


class LoginThrottle(Base):
    """Failed logins counted per key: ``pair:<user>@<address>`` or ``address:<address>``.

    Failures only ever delay the key that produced them, so wrong passwords sent from one
    address never stop the same person logging in from another.
    """

    __tablename__ = "aftercare_login_throttle"

    id = columns.primary_id()
    key = columns.required(String(160), unique=True)
    failures = columns.counter()
    last_failure_at = columns.utc_now(index=True)
    blocked_until = columns.utc_time()


class SecurityAlert(Base):
    """Something admins must see: e.g. many failed logins for one account. Shown until dismissed."""

    __tablename__ = "aftercare_security_alerts"

    id = columns.primary_id()
    kind = columns.required(String(32))
    subject = columns.required(String(64))
    count = columns.counter()
    addresses = columns.optional(String(255))
    created_at = columns.utc_now()
    updated_at = columns.utc_now()
    dismissed_by = columns.optional(String(64))
    dismissed_at = columns.utc_time()
    # Delivery by email/webhook (``bot.alerts.security``), retried up to the alert retry limit.
    notified_at = columns.utc_time()
    notify_attempts = columns.counter()
    notify_error = columns.optional(Text)

    __table_args__ = (Index("ix_aftercare_security_alerts_open", "kind", "subject", "dismissed_at"),)
