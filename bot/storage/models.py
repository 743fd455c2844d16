"""ORM models for everything the assistant stores besides Rasa's own tracker store.

Every table name starts with ``aftercare_`` so it can share a database with Rasa's SQL
tracker store (which owns ``events``) without clashing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Dict

from sqlalchemy import DDL, Boolean, CheckConstraint, Index, MetaData, String, Text, event, text
from sqlalchemy.orm import DeclarativeMeta, Mapper, registry

from bot.storage import append_only, columns
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

    channel = columns.required(String(64))
    channel_user_id = columns.optional(String(255))
    level = columns.required(String(16))
    kind = columns.required(String(16))
    reason = columns.required(Text)
    rule = columns.required(String(128))
    matched_text = columns.required(Text)
    message = columns.required(Text)

    def details(self) -> Dict[str, Any]:
        """Return these columns by name: what ``raise_flag`` needs to write the same flag."""
        return {name: getattr(self, name) for name in FLAG_DETAIL_COLUMNS}


FLAG_DETAIL_COLUMNS = (
    "channel",
    "channel_user_id",
    "level",
    "kind",
    "reason",
    "rule",
    "matched_text",
    "message",
)


class Flag(FlagDetails, Base):
    """A conversation that staff should look at, and what they did about it."""

    __tablename__ = "aftercare_flags"

    id = columns.primary_id()
    conversation_id = columns.conversation_id(index=True)
    status = columns.status(STATUS_OPEN)
    outcome = columns.optional(String(32))
    # Staff's verdict on resolving: was the rule right (true_alarm) or not (false_alarm)? Checked
    # in code (flags.alarm_for): a CHECK would need a table rebuild on SQLite (migration 0006).
    alarm = columns.optional(String(16))
    note = columns.optional(Text)
    assignee = columns.optional(String(64))
    created_at = columns.utc_now(index=True)
    updated_at = columns.utc_now()
    acknowledged_by = columns.optional(String(64))
    acknowledged_at = columns.utc_time()
    resolved_by = columns.optional(String(64))
    resolved_at = columns.utc_time()

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

    id = columns.primary_id()
    username = columns.required(String(64), unique=True)
    password_hash = columns.required(String(255))
    role = columns.required(String(16))
    active = columns.required(Boolean, default=True)
    failed_logins = columns.counter()
    locked_until = columns.utc_time()
    last_login_at = columns.utc_time()
    created_at = columns.utc_now()

    __table_args__ = (CheckConstraint(sql_in("role", STAFF_ROLES), name="role"),)

    def is_locked(self, now: datetime) -> bool:
        """Tell whether too many failed logins currently lock this account."""
        return self.locked_until is not None and self.locked_until > now

    def __repr__(self) -> str:
        return f"<StaffUser {self.username} {self.role}{'' if self.active else ' disabled'}>"


class AuditEntry(Base):
    """One thing a person (or a maintenance command) did; never changed afterwards."""

    __tablename__ = "aftercare_audit_log"

    id = columns.primary_id()
    at = columns.utc_now(index=True)
    actor = columns.required(String(64), index=True)
    action = columns.required(String(64), index=True)
    target = columns.optional(String(255))
    detail = columns.optional(Text)
    ip = columns.optional(String(64))


class AlertOutbox(Base):
    """An alert waiting to be (or already) delivered over one channel.

    Rows are written in the same transaction as the flag, so a failing mail server can
    neither block the conversation nor lose the alert; a worker delivers them later.
    """

    __tablename__ = "aftercare_alert_outbox"

    id = columns.primary_id()
    flag_id = columns.parent_id("aftercare_flags.id")
    channel = columns.required(String(16))
    event = columns.required(String(16))
    level = columns.required(String(16))
    status = columns.status(ALERT_PENDING)
    attempts = columns.counter()
    next_attempt_at = columns.utc_now()
    last_error = columns.optional(Text)
    delivered_at = columns.utc_time()
    created_at = columns.utc_now()

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
