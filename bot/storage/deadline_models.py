"""Tables of the response-time deadlines (issue 11): the clock per flag level, the escalation
alerts it queued, and the contact details a widget patient left.

Logic lives in ``bot.deadlines`` (clock and alerts) and ``bot.storage.contacts``.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Index, Integer, String, Text, UniqueConstraint

from bot.storage import columns
from bot.storage.models import Base
from bot.storage.types import UTCDateTime
from bot.storage.vocabulary import ALARMS, ALERT_CHANNELS, ALERT_PENDING, ALERT_STATUSES, sql_in

# A deadline runs until staff acknowledge (met), the chain is exhausted (done), or the flag
# changes level (superseded: the new level starts its own clock).
DEADLINE_RUNNING = "running"
DEADLINE_MET = "met"
DEADLINE_DONE = "done"
DEADLINE_SUPERSEDED = "superseded"
DEADLINE_STATUSES = (DEADLINE_RUNNING, DEADLINE_MET, DEADLINE_DONE, DEADLINE_SUPERSEDED)
PRIORITIES = ("high", "low")
CONTACT_KINDS = ("phone", "email")
__all__ = ["ALARMS", "EscalationAlert", "FlagDeadline", "PatientContact"]


class FlagDeadline(Base):
    """The response-time clock of one flag at one level; ``steps_done`` targets have passed."""

    __tablename__ = "aftercare_flag_deadlines"

    id = columns.primary_id()
    flag_id = columns.parent_id("aftercare_flags.id")
    level = columns.required(String(16))
    status = columns.status(DEADLINE_RUNNING)
    started_at = columns.required(UTCDateTime)
    next_due_at = columns.required(UTCDateTime)
    steps_done = columns.counter()
    # Steps taken before staff last reopened the flag: the clock then runs again from the
    # reopening (``started_at``), from the start of the chain (bot.deadlines.worker).
    steps_before_restart = Column(Integer, nullable=False, default=0, server_default="0")
    fallback_queued_at = columns.utc_time()
    created_at = columns.utc_now()
    updated_at = columns.utc_now()

    __table_args__ = (
        UniqueConstraint("flag_id", "level", name="uq_aftercare_flag_deadlines_flag_level"),
        CheckConstraint(sql_in("status", DEADLINE_STATUSES), name="status"),
        Index("ix_aftercare_flag_deadlines_due", "status", "next_due_at"),
    )


class EscalationAlert(Base):
    """One alert to the next person in the escalation chain, delivered by the deadline worker."""

    __tablename__ = "aftercare_escalation_alerts"

    id = columns.primary_id()
    flag_id = columns.parent_id("aftercare_flags.id")
    deadline_id = columns.parent_id("aftercare_flag_deadlines.id", index=False)
    step = columns.required(Integer)
    level = columns.required(String(16))
    priority = columns.required(String(8))
    recipient_name = columns.required(String(128))
    channel = columns.required(String(16))
    address = columns.required(Text)
    out_of_hours = columns.counter()
    status = columns.status(ALERT_PENDING)
    attempts = columns.counter()
    next_attempt_at = columns.utc_now()
    # A worker that took the row for sending holds it until then (a crashed one lets it go).
    claimed_until = columns.utc_time()
    last_error = columns.optional(Text)
    delivered_at = columns.utc_time()
    created_at = columns.utc_now()

    __table_args__ = (
        UniqueConstraint("deadline_id", "step", name="uq_aftercare_escalation_alerts_step"),
        CheckConstraint(sql_in("channel", ALERT_CHANNELS), name="channel"),
        CheckConstraint(sql_in("status", ALERT_STATUSES), name="status"),
        CheckConstraint(sql_in("priority", PRIORITIES), name="priority"),
        Index("ix_aftercare_escalation_alerts_due", "status", "next_attempt_at"),
    )


class PatientContact(Base):
    """How the clinic can reach a patient who left no number (the widget's optional step)."""

    __tablename__ = "aftercare_patient_contacts"

    id = columns.primary_id()
    conversation_id = columns.conversation_id(unique=True)
    kind = columns.required(String(8))
    value = columns.required(String(255))
    created_at = columns.utc_now()
    updated_at = columns.utc_now(index=True)

    __table_args__ = (CheckConstraint(sql_in("kind", CONTACT_KINDS), name="kind"),)
