"""Tables of the response-time deadlines (issue 11): the clock per flag level, the escalation
alerts it queued, and the contact details a widget patient left.

Logic lives in ``bot.deadlines`` (clock and alerts) and ``bot.storage.contacts``.
"""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Text, UniqueConstraint

from bot.storage.db import utcnow
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

    id = Column(Integer, primary_key=True)
    flag_id = Column(
        Integer, ForeignKey("aftercare_flags.id", ondelete="CASCADE"), nullable=False, index=True
    )
    level = Column(String(16), nullable=False)
    status = Column(String(16), nullable=False, default=DEADLINE_RUNNING)
    started_at = Column(UTCDateTime, nullable=False)
    next_due_at = Column(UTCDateTime, nullable=False)
    steps_done = Column(Integer, nullable=False, default=0)
    # Steps taken before staff last reopened the flag: the clock then runs again from the
    # reopening (``started_at``), from the start of the chain (bot.deadlines.worker).
    steps_before_restart = Column(Integer, nullable=False, default=0, server_default="0")
    fallback_queued_at = Column(UTCDateTime, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        UniqueConstraint("flag_id", "level", name="uq_aftercare_flag_deadlines_flag_level"),
        CheckConstraint(sql_in("status", DEADLINE_STATUSES), name="status"),
        Index("ix_aftercare_flag_deadlines_due", "status", "next_due_at"),
    )


class EscalationAlert(Base):
    """One alert to the next person in the escalation chain, delivered by the deadline worker."""

    __tablename__ = "aftercare_escalation_alerts"

    id = Column(Integer, primary_key=True)
    flag_id = Column(
        Integer, ForeignKey("aftercare_flags.id", ondelete="CASCADE"), nullable=False, index=True
    )
    deadline_id = Column(
        Integer, ForeignKey("aftercare_flag_deadlines.id", ondelete="CASCADE"), nullable=False
    )
    step = Column(Integer, nullable=False)
    level = Column(String(16), nullable=False)
    priority = Column(String(8), nullable=False)
    recipient_name = Column(String(128), nullable=False)
    channel = Column(String(16), nullable=False)
    address = Column(Text, nullable=False)
    out_of_hours = Column(Integer, nullable=False, default=0)
    status = Column(String(16), nullable=False, default=ALERT_PENDING)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(UTCDateTime, nullable=False, default=utcnow)
    # A worker that took the row for sending holds it until then (a crashed one lets it go).
    claimed_until = Column(UTCDateTime, nullable=True)
    last_error = Column(Text, nullable=True)
    delivered_at = Column(UTCDateTime, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

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

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, unique=True)
    kind = Column(String(8), nullable=False)
    value = Column(String(255), nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)

    __table_args__ = (CheckConstraint(sql_in("kind", CONTACT_KINDS), name="kind"),)
