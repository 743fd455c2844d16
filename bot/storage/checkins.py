"""Check-in tables: who is enrolled, their consent, the schedule, and contact preferences.

An enrolment names one patient's conversation on one channel (``whatsapp:+44...``), the
treatment and its date. Its schedule rows are written at enrolment, one per check-in day, with
the moment each is due in UTC; the check-in worker claims a due row and queues its message in
the same transaction, so a row is sent at most once. Opt-out is kept per conversation, apart
from any enrolment, so a STOP is honoured by every later send, whoever enrols the patient again.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import relationship

from bot.storage.db import utcnow
from bot.storage.models import Base
from bot.storage.types import UTCDateTime
from bot.storage.vocabulary import sql_in

ENROLMENT_ACTIVE = "active"
ENROLMENT_PAUSED = "paused"
ENROLMENT_CANCELLED = "cancelled"
ENROLMENT_STATUSES = (ENROLMENT_ACTIVE, ENROLMENT_PAUSED, ENROLMENT_CANCELLED)

CHECKIN_SCHEDULED = "scheduled"
CHECKIN_SENT = "sent"
CHECKIN_SKIPPED = "skipped"
CHECKIN_CANCELLED = "cancelled"
CHECKIN_STATUSES = (CHECKIN_SCHEDULED, CHECKIN_SENT, CHECKIN_SKIPPED, CHECKIN_CANCELLED)

CHECKIN_CHANNELS = ("whatsapp", "telegram", "twilio", "widget")


class Enrolment(Base):
    """A patient enrolled for check-ins after one treatment, and the consent behind it."""

    __tablename__ = "aftercare_checkin_enrolments"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, index=True)
    channel = Column(String(16), nullable=False)
    procedure = Column(String(64), nullable=True)
    treatment_date = Column(Date, nullable=False)
    status = Column(String(16), nullable=False, default=ENROLMENT_ACTIVE)
    enrolled_by = Column(String(64), nullable=False)
    # Consent: who recorded it (the patient in chat, or a staff member in person), when, and
    # which wording they agreed to. Nothing is sent while consent_at is empty.
    consent_by = Column(String(64), nullable=True)
    consent_at = Column(UTCDateTime, nullable=True)
    consent_version = Column(String(32), nullable=True)
    no_response_flagged_at = Column(UTCDateTime, nullable=True)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow)

    checkins = relationship("ScheduledCheckin", back_populates="enrolment", order_by="ScheduledCheckin.day")

    __table_args__ = (
        CheckConstraint(sql_in("status", ENROLMENT_STATUSES), name="status"),
        CheckConstraint(sql_in("channel", CHECKIN_CHANNELS), name="channel"),
    )

    @property
    def consented(self) -> bool:
        """Tell whether consent is on record."""
        return self.consent_at is not None


class ScheduledCheckin(Base):
    """One check-in of an enrolment: due at a moment, then sent, skipped or cancelled."""

    __tablename__ = "aftercare_checkin_schedule"

    id = Column(Integer, primary_key=True)
    enrolment_id = Column(
        Integer,
        ForeignKey("aftercare_checkin_enrolments.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    day = Column(Integer, nullable=False)
    due_at = Column(UTCDateTime, nullable=False)
    status = Column(String(16), nullable=False, default=CHECKIN_SCHEDULED)
    outbound_key = Column(String(128), nullable=True)
    reason = Column(String(64), nullable=True)
    done_at = Column(UTCDateTime, nullable=True)

    enrolment = relationship("Enrolment", back_populates="checkins")

    __table_args__ = (
        CheckConstraint(sql_in("status", CHECKIN_STATUSES), name="status"),
        UniqueConstraint("enrolment_id", "day", name="uq_aftercare_checkin_schedule_day"),
        Index("ix_aftercare_checkin_schedule_due", "status", "due_at"),
    )


class ContactPreference(Base):
    """Whether a conversation opted out of messages we start (STOP), and who last changed it."""

    __tablename__ = "aftercare_contact_preferences"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(String(255), nullable=False, unique=True)
    opted_out = Column(Boolean, nullable=False, default=False)
    changed_by = Column(String(64), nullable=False)
    changed_at = Column(UTCDateTime, nullable=False, default=utcnow)
    note = Column(Text, nullable=True)
