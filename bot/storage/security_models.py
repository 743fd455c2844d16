"""Tables for dashboard security: server-side sessions, login throttling, security alerts.

Imported by ``bot.storage.models`` so that ``Base.metadata`` (and the migrations' drift
check) always includes them.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text

from bot.storage.db import utcnow
from bot.storage.models import Base
from bot.storage.types import UTCDateTime


class StaffSession(Base):
    """One dashboard login. The cookie names it; logout or a password change ends it for good.

    Only a SHA-256 digest of the cookie's random id is stored, so a database reader cannot
    rebuild a live cookie from this table.
    """

    __tablename__ = "aftercare_staff_sessions"

    id = Column(Integer, primary_key=True)
    token_digest = Column(String(64), nullable=False, unique=True)
    user_id = Column(
        Integer, ForeignKey("aftercare_staff.id", ondelete="CASCADE"), nullable=False, index=True
    )
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = Column(UTCDateTime, nullable=False)
    ended_at = Column(UTCDateTime, nullable=True)
    end_reason = Column(String(32), nullable=True)


class LoginThrottle(Base):
    """Failed logins counted per key: ``pair:<user>@<address>`` or ``address:<address>``.

    Failures only ever delay the key that produced them, so wrong passwords sent from one
    address never stop the same person logging in from another.
    """

    __tablename__ = "aftercare_login_throttle"

    id = Column(Integer, primary_key=True)
    key = Column(String(160), nullable=False, unique=True)
    failures = Column(Integer, nullable=False, default=0)
    last_failure_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    blocked_until = Column(UTCDateTime, nullable=True)


class SecurityAlert(Base):
    """Something admins must see: e.g. many failed logins for one account. Shown until dismissed."""

    __tablename__ = "aftercare_security_alerts"

    id = Column(Integer, primary_key=True)
    kind = Column(String(32), nullable=False)
    subject = Column(String(64), nullable=False)
    count = Column(Integer, nullable=False, default=0)
    addresses = Column(String(255), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)
    dismissed_by = Column(String(64), nullable=True)
    dismissed_at = Column(UTCDateTime, nullable=True)
    # Delivery by email/webhook (``bot.alerts.security``), retried up to the alert retry limit.
    notified_at = Column(UTCDateTime, nullable=True)
    notify_attempts = Column(Integer, nullable=False, default=0)
    notify_error = Column(Text, nullable=True)

    __table_args__ = (Index("ix_aftercare_security_alerts_open", "kind", "subject", "dismissed_at"),)
