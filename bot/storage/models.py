"""ORM models for everything the assistant stores besides Rasa's own tracker store.

Every table name starts with ``aftercare_`` so it can share a database with Rasa's SQL
tracker store (which owns ``events``) without clashing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict

from sqlalchemy import (
    DDL,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeMeta, Mapper, registry

from bot.storage import append_only
from bot.storage.db import utcnow
from bot.storage.types import UTCDateTime
from bot.storage.vocabulary import (
    ALERT_CHANNELS,
    ALERT_EVENTS,
    ALERT_PENDING,
    ALERT_STATUSES,
    FLAG_KINDS,
    FLAG_LEVELS,
    FLAG_STATUSES,
    OUTCOMES,
    STAFF_ROLES,
    STATUS_OPEN,
    sql_in,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

mapper_registry = registry(metadata=MetaData(naming_convention=NAMING_CONVENTION))


class Base(metaclass=DeclarativeMeta):
    """Declarative base spelt out (SQLAlchemy 1.4 style) so type checkers see a real class."""

    __abstract__ = True
    registry = mapper_registry
    metadata = mapper_registry.metadata
    __init__ = mapper_registry.constructor


class FlagDetails:
    """What a flag is about: shared by the flag and the flag still owed for a message."""

    channel = Column(String(64), nullable=False)
    channel_user_id = Column(String(255), nullable=True)
    level = Column(String(16), nullable=False)
    kind = Column(String(16), nullable=False)
    reason = Column(Text, nullable=False)
    rule = Column(String(128), nullable=False)
    matched_text = Column(Text, nullable=False)
    message = Column(Text, nullable=False)

    def details(self) -> Dict[str, Any]:
        """Return these columns by name: what ``raise_flag`` needs to write the same flag."""
        return {name: getattr(self, name) for name in FLAG_DETAIL_COLUMNS}


FLAG_DETAIL_COLUMNS = (
    "channel", "channel_user_id", "level", "kind", "reason", "rule", "matched_text", "message"
)


class Flag(FlagDetails, Base):
    """A conversation that staff should look at, and what they did about it."""

    __tablename__ = "aftercare_flags"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    status = Column(String(16), nullable=False, default=STATUS_OPEN)
    outcome = Column(String(32), nullable=True)
    # Staff's verdict on resolving: was the rule right (true_alarm) or not (false_alarm)? Checked
    # in code (flags.alarm_for): a CHECK would need a table rebuild on SQLite (migration 0006).
    alarm = Column(String(16), nullable=True)
    note = Column(Text, nullable=True)
    assignee = Column(String(64), nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)
    acknowledged_by = Column(String(64), nullable=True)
    acknowledged_at = Column(UTCDateTime, nullable=True)
    resolved_by = Column(String(64), nullable=True)
    resolved_at = Column(UTCDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint(sql_in("level", FLAG_LEVELS), name="level"),
        CheckConstraint(sql_in("kind", FLAG_KINDS), name="kind"),
        CheckConstraint(sql_in("status", FLAG_STATUSES), name="status"),
        CheckConstraint(f"outcome IS NULL OR {sql_in('outcome', OUTCOMES)}", name="outcome"),
        Index("ix_aftercare_flags_status_level", "status", "level"),
        # At most one unresolved flag per conversation and kind, even with concurrent writers.
        Index(
            "uq_aftercare_flags_unresolved",
            "conversation_id",
            "kind",
            unique=True,
            sqlite_where=text("status != 'resolved'"),
            postgresql_where=text("status != 'resolved'"),
        ),
    )

    def __repr__(self) -> str:
        return f"<Flag {self.id} {self.kind}/{self.level} {self.status}>"


class StaffUser(Base):
    """A clinic staff member who can log in to the dashboard."""

    __tablename__ = "aftercare_staff"

    id = Column(Integer, primary_key=True)
    username = Column(String(64), nullable=False, unique=True)
    password_hash = Column(String(255), nullable=False)
    role = Column(String(16), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    failed_logins = Column(Integer, nullable=False, default=0)
    locked_until = Column(UTCDateTime, nullable=True)
    last_login_at = Column(UTCDateTime, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (CheckConstraint(sql_in("role", STAFF_ROLES), name="role"),)

    def is_locked(self, now: datetime) -> bool:
        """Tell whether too many failed logins currently lock this account."""
        return self.locked_until is not None and self.locked_until > now

    def __repr__(self) -> str:
        return f"<StaffUser {self.username} {self.role}{'' if self.active else ' disabled'}>"


class AuditEntry(Base):
    """One thing a person (or a maintenance command) did; never changed afterwards."""

    __tablename__ = "aftercare_audit_log"

    id = Column(Integer, primary_key=True)
    at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    actor = Column(String(64), nullable=False, index=True)
    action = Column(String(64), nullable=False, index=True)
    target = Column(String(255), nullable=True)
    detail = Column(Text, nullable=True)
    ip = Column(String(64), nullable=True)


class AlertOutbox(Base):
    """An alert waiting to be (or already) delivered over one channel.

    Rows are written in the same transaction as the flag, so a failing mail server can
    neither block the conversation nor lose the alert; a worker delivers them later.
    """

    __tablename__ = "aftercare_alert_outbox"

    id = Column(Integer, primary_key=True)
    flag_id = Column(
        Integer, ForeignKey("aftercare_flags.id", ondelete="CASCADE"), nullable=False, index=True
    )
    channel = Column(String(16), nullable=False)
    event = Column(String(16), nullable=False)
    level = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False, default=ALERT_PENDING)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime, nullable=False, default=utcnow)
    last_error = Column(Text, nullable=True)
    delivered_at = Column(UTCDateTime, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        CheckConstraint(sql_in("channel", ALERT_CHANNELS), name="channel"),
        CheckConstraint(sql_in("event", ALERT_EVENTS), name="event"),
        CheckConstraint(sql_in("status", ALERT_STATUSES), name="status"),
        Index("ix_aftercare_alert_outbox_due", "status", "next_attempt_at"),
    )


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or remove an audit entry."""


def _refuse_change(mapper: Mapper, connection: object, target: AuditEntry) -> None:
    raise AppendOnlyError(f"{AuditEntry.__tablename__} is append-only")


event.listen(AuditEntry, "before_update", _refuse_change)
event.listen(AuditEntry, "before_delete", _refuse_change)

for _dialect, _statements in append_only.CREATE_STATEMENTS.items():
    for _statement in _statements:
        event.listen(AuditEntry.__table__, "after_create", DDL(_statement).execute_if(dialect=_dialect))

# Tables declared in their own feature modules register on the same metadata (migrations,
# create_all in tests): security (sessions, login throttling, security alerts), the channel
# inbox and reply outbox, quarantined tracker events, owed flags, outbound messages, API tokens,
# check-ins, patient photos, worker leases, deadlines and patient contacts.
from bot.storage import api_tokens as _api_tokens  # noqa: E402,F401
from bot.storage import checkins as _checkins  # noqa: E402,F401
from bot.storage import deadline_models as _deadline_models  # noqa: E402,F401
from bot.storage import inbox as _channel_inbox  # noqa: E402,F401
from bot.storage import leases as _leases  # noqa: E402,F401
from bot.storage import outbound as _outbound  # noqa: E402,F401
from bot.storage import owed_table as _owed_table  # noqa: E402,F401
from bot.storage import photos as _photos  # noqa: E402,F401
from bot.storage import quarantine as _quarantine  # noqa: E402,F401
from bot.storage import security_models  # noqa: E402,F401
from bot.storage import takeover as _takeover  # noqa: E402,F401
