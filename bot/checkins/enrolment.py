"""Enrol a patient for check-ins, record consent, pause, resume and cancel.

Repository functions in the house style: the caller owns the session and the transaction,
and passes ``now`` (so schedules are tested with any clock).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Iterable, List, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.checkins.addresses import conversation_for
from bot.checkins.schedule import due_times
from bot.settings import CheckinSettings
from bot.storage.checkins import (
    CHECKIN_CANCELLED,
    CHECKIN_SCHEDULED,
    CHECKIN_SKIPPED,
    ENROLMENT_ACTIVE,
    ENROLMENT_CANCELLED,
    ENROLMENT_PAUSED,
    Enrolment,
    ScheduledCheckin,
)

SKIPPED_BEFORE_ENROLMENT = "before_enrolment"
CANCEL_REPLACED = "replaced"
CANCEL_BY_STAFF = "cancelled"


class EnrolmentError(ValueError):
    """The enrolment cannot be made as asked (unknown procedure, bad address...)."""


@dataclass(frozen=True)
class EnrolmentRequest:
    """Who to enrol: channel, address, procedure id (None: the default days) and treatment date.

    ``conversation_id`` is given instead of a typed address when the patient enrols in chat.
    """

    channel: str
    address: str
    procedure: Optional[str]
    treatment_date: date
    conversation_id: Optional[str] = None


def enrol(
    *,
    session: Session,
    request: EnrolmentRequest,
    check_in_days: Sequence[int],
    settings: CheckinSettings,
    actor: str,
    now: datetime,
    consent_version: Optional[str] = None,
) -> Enrolment:
    """Enrol a patient and write their schedule; consent is recorded when ``consent_version`` is given.

    An active enrolment of the same conversation is replaced (its open check-ins cancelled):
    a patient follows one treatment at a time. Check-ins already due at enrolment are marked
    skipped, never sent late.
    """
    conversation = request.conversation_id or conversation_for(request.channel, request.address)
    for previous in active_enrolments(session=session, conversation_id=conversation):
        cancel(session=session, enrolment=previous, now=now, reason=CANCEL_REPLACED)
    enrolment = Enrolment(
        conversation_id=conversation,
        channel=request.channel,
        procedure=request.procedure,
        treatment_date=request.treatment_date,
        status=ENROLMENT_ACTIVE,
        enrolled_by=actor[:64],
        created_at=now,
        updated_at=now,
    )
    session.add(enrolment)
    session.flush()
    for due in due_times(request.treatment_date, check_in_days, settings.send_time, settings.timezone):
        past = due.due_at <= now
        session.add(
            ScheduledCheckin(
                enrolment_id=enrolment.id,
                day=due.day,
                due_at=due.due_at,
                status=CHECKIN_SKIPPED if past else CHECKIN_SCHEDULED,
                reason=SKIPPED_BEFORE_ENROLMENT if past else None,
                done_at=now if past else None,
            )
        )
    if consent_version is not None:
        record_consent(session=session, enrolment=enrolment, actor=actor, version=consent_version, now=now)
    session.flush()
    return enrolment


def record_consent(
    *, session: Session, enrolment: Enrolment, actor: str, version: str, now: datetime
) -> None:
    """Record that consent was given: by whom (patient or staff member), when, for which wording."""
    enrolment.consent_by = actor[:64]
    enrolment.consent_at = now
    enrolment.consent_version = version[:32]
    enrolment.updated_at = now


def active_enrolments(*, session: Session, conversation_id: str) -> List[Enrolment]:
    """Enrolments of a conversation that are not cancelled, newest first."""
    statement = (
        select(Enrolment)
        .where(Enrolment.conversation_id == conversation_id, Enrolment.status != ENROLMENT_CANCELLED)
        .order_by(Enrolment.id.desc())
    )
    return list(session.execute(statement).scalars())


def list_enrolments(*, session: Session, limit: int = 200) -> List[Enrolment]:
    """Every enrolment, newest first (the staff view and ``aftercare patients list``)."""
    statement = (
        select(Enrolment).options(selectinload(Enrolment.checkins)).order_by(Enrolment.id.desc()).limit(limit)
    )
    return list(session.execute(statement).scalars())


def pause(*, session: Session, enrolment: Enrolment, now: datetime) -> None:
    """Hold the check-ins; a check-in that falls due while paused is skipped once past the grace period."""
    if enrolment.status == ENROLMENT_ACTIVE:
        enrolment.status = ENROLMENT_PAUSED
        enrolment.updated_at = now


def resume(*, session: Session, enrolment: Enrolment, now: datetime) -> None:
    """Let a paused enrolment's check-ins go out again."""
    if enrolment.status == ENROLMENT_PAUSED:
        enrolment.status = ENROLMENT_ACTIVE
        enrolment.updated_at = now


def cancel(*, session: Session, enrolment: Enrolment, now: datetime, reason: str = CANCEL_BY_STAFF) -> None:
    """End an enrolment: every check-in not yet sent is cancelled."""
    enrolment.status = ENROLMENT_CANCELLED
    enrolment.updated_at = now
    for checkin in enrolment.checkins:
        if checkin.status == CHECKIN_SCHEDULED:
            checkin.status = CHECKIN_CANCELLED
            checkin.reason = reason
            checkin.done_at = now


CSV_COLUMNS = ("channel", "address", "procedure", "date", "consent")


@dataclass(frozen=True)
class CsvRow:
    """One line of an appointment list: the request, and whether consent was given in person."""

    line: int
    request: EnrolmentRequest
    consent: bool


def read_csv(text: str, known_procedures: Iterable[str]) -> List[CsvRow]:
    """Parse a day's appointment list (header: channel,address,procedure,date[,consent]).

    Every line is checked before anything is enrolled; the first bad line raises
    EnrolmentError naming its line number (never its content: it holds a phone number).
    """
    known = set(known_procedures)
    reader = csv.DictReader(io.StringIO(text))
    missing = [name for name in CSV_COLUMNS[:4] if name not in (reader.fieldnames or [])]
    if missing:
        raise EnrolmentError(f"the CSV header lacks: {', '.join(missing)}")
    rows = []
    for number, raw in enumerate(reader, start=2):
        procedure = (raw.get("procedure") or "").strip() or None
        if procedure is not None and procedure not in known:
            raise EnrolmentError(f"line {number}: unknown procedure id")
        try:
            when = date.fromisoformat((raw.get("date") or "").strip())
        except ValueError:
            raise EnrolmentError(f"line {number}: the date must be YYYY-MM-DD") from None
        consent = (raw.get("consent") or "").strip().lower() in ("yes", "true", "1", "y")
        request = EnrolmentRequest(
            (raw.get("channel") or "").strip(), raw.get("address") or "", procedure, when
        )
        try:
            conversation_for(request.channel, request.address)
        except ValueError as error:
            raise EnrolmentError(f"line {number}: {error}") from None
        rows.append(CsvRow(number, request, consent))
    return rows
