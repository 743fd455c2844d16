"""Check-in tables: who is enrolled, their consent, the schedule, and contact preferences.

An enrolment names one patient's conversation on one channel (``whatsapp:+44...``), the
treatment and its date. Its schedule rows are written at enrolment, one per check-in day, with
the moment each is due in UTC; the check-in worker claims a due row and queues its message in
the same transaction, so a row is sent at most once. Opt-out is kept per conversation, apart
from any enrolment, so a STOP is honoured by every later send, whoever enrols the patient again.
"""

from __future__ import annotations

import sqlalchemy as sa
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


class Enrolment(Base):
    """A patient enrolled for check-ins after one treatment, and the consent behind it."""

    __tablename__ = "aftercare_checkin_enrolments"

    id = sa.Column(sa.Integer, primary_key=True)
    conversation_id = sa.Column(sa.String(255), nullable=False, index=True)
    channel = sa.Column(sa.String(16), nullable=False)
    procedure = sa.Column(sa.String(64), nullable=True)
    treatment_date = sa.Column(sa.Date, nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default=ENROLMENT_ACTIVE)
    enrolled_by = sa.Column(sa.String(64), nullable=False)
    # Consent: who recorded it (the patient in chat, or a staff member in person), when, and
    # which wording they agreed to. Nothing is sent while consent_at is empty.
    consent_by = sa.Column(sa.String(64), nullable=True)
    consent_at = sa.Column(UTCDateTime, nullable=True)
    consent_version = sa.Column(sa.String(32), nullable=True)
    no_response_flagged_at = sa.Column(UTCDateTime, nullable=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    checkins = relationship("ScheduledCheckin", back_populates="enrolment", order_by="ScheduledCheckin.day")

    __table_args__ = (sa.CheckConstraint(sql_in("status", ENROLMENT_STATUSES), name="status"),)

    @property
    def consented(self) -> bool:
        """Tell whether consent is on record."""
        return self.consent_at is not None


class ScheduledCheckin(Base):
    """One check-in of an enrolment: due at a moment, then sent, skipped or cancelled."""

    __tablename__ = "aftercare_checkin_schedule"

    id = sa.Column(sa.Integer, primary_key=True)
    enrolment_id = sa.Column(
        sa.Integer,
        sa.ForeignKey("aftercare_checkin_enrolments.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )
    day = sa.Column(sa.Integer, nullable=False)
    due_at = sa.Column(UTCDateTime, nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default=CHECKIN_SCHEDULED)
    outbound_key = sa.Column(sa.String(128), nullable=True)
    reason = sa.Column(sa.String(64), nullable=True)
    done_at = sa.Column(UTCDateTime, nullable=True)

    enrolment = relationship("Enrolment", back_populates="checkins")

    __table_args__ = (
        sa.CheckConstraint(sql_in("status", CHECKIN_STATUSES), name="status"),
        sa.UniqueConstraint("enrolment_id", "day", name="uq_aftercare_checkin_schedule_day"),
        sa.Index("ix_aftercare_checkin_schedule_due", "status", "due_at"),
    )


class ContactPreference(Base):
    """Whether a conversation opted out of messages we start (STOP), and who last changed it."""

    __tablename__ = "aftercare_contact_preferences"

    id = sa.Column(sa.Integer, primary_key=True)
    conversation_id = sa.Column(sa.String(255), nullable=False, unique=True)
    opted_out = sa.Column(sa.Boolean, nullable=False, default=False)
    changed_by = sa.Column(sa.String(64), nullable=False)
    changed_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    note = sa.Column(sa.Text, nullable=True)
