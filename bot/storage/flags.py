"""Raising flags for staff review, and the staff actions on them.

``raise_flag`` is what the assistant's custom actions call: it keeps one unresolved
flag per conversation and kind, raises its level when the patient's situation gets
worse, and queues alerts in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.db import insert_unless_taken, utcnow
from bot.storage.models import Flag
from bot.storage.outbox import enqueue_alerts
from bot.storage.vocabulary import (
    ALARMS,
    ALERT_LEVELS,
    FALSE_ALARM,
    FLAG_KINDS,
    FLAG_LEVELS,
    LEVEL_SEVERITY,
    OUTCOMES,
    STATUS_ACKNOWLEDGED,
    STATUS_OPEN,
    STATUS_RESOLVED,
    TRIAGE_LEVELS,
    TRUE_ALARM,
    UNRESOLVED_STATUSES,
    FlagKind,
)

__all__ = [
    "FLAG_KINDS",
    "FLAG_LEVELS",
    "Flag",
    "FlagKind",
    "InvalidTransitionError",
    "acknowledge",
    "alarm_for",
    "flags_for_conversation",
    "raise_flag",
    "reopen",
    "resolve",
    "unresolved_flag",
]


class InvalidTransitionError(ValueError):
    """Raised when a staff action does not apply to the flag's current status."""


def _check_level_and_kind(level: str, kind: str) -> str:
    kind = FlagKind(kind).value
    if level not in FLAG_LEVELS:
        raise ValueError(f"unknown flag level {level!r}; expected one of {FLAG_LEVELS}")
    if kind == FlagKind.TRIAGE.value and level not in TRIAGE_LEVELS:
        raise ValueError(f"a triage flag needs a triage level {TRIAGE_LEVELS}, not {level!r}")
    return kind


def unresolved_flag(*, session: Session, conversation_id: str, kind: str) -> Optional[Flag]:
    """Return the open or acknowledged flag of this kind for the conversation, if any."""
    statement = select(Flag).where(
        Flag.conversation_id == conversation_id,
        Flag.kind == kind,
        Flag.status.in_(UNRESOLVED_STATUSES),
    )
    return session.execute(statement).scalars().first()


def raise_flag(
    *,
    session: Session,
    conversation_id: str,
    channel: str,
    level: str,
    kind: str,
    reason: str,
    rule: str,
    matched_text: str,
    message: str,
    channel_user_id: Optional[str] = None,
    now: Optional[datetime] = None,
) -> Flag:
    """Flag a conversation for staff, or raise the level of its existing unresolved flag.

    Repeating the same complaint does not create duplicates. A worse triage level
    (emergency > urgent > routine) updates the flag's level, reason, rule, matched text
    and message, keeps ``created_at``, sets ``updated_at`` and puts an acknowledged flag
    back to open. New flags at, and raises to, an alerting level queue alerts.
    Never commits: the caller owns the transaction.
    """
    kind = _check_level_and_kind(level, kind)
    now = now or utcnow()
    existing = unresolved_flag(session=session, conversation_id=conversation_id, kind=kind)
    if existing is None:
        flag = Flag(
            conversation_id=conversation_id,
            channel=channel,
            channel_user_id=channel_user_id,
            level=level,
            kind=kind,
            reason=reason,
            rule=rule,
            matched_text=matched_text,
            message=message,
            status=STATUS_OPEN,
            created_at=now,
            updated_at=now,
        )
        # Another writer may flag this conversation between our read and our insert.
        current, inserted = insert_unless_taken(
            session,
            flag,
            lambda: unresolved_flag(session=session, conversation_id=conversation_id, kind=kind),
        )
        if inserted:
            if level in ALERT_LEVELS:
                enqueue_alerts(session=session, flag=flag, event="created", now=now)
            return flag
        existing = current
    if LEVEL_SEVERITY[level] > LEVEL_SEVERITY[existing.level]:
        reopened = STATUS_OPEN if existing.status == STATUS_ACKNOWLEDGED else existing.status
        _change(existing, now, level=level, reason=reason, rule=rule, matched_text=matched_text)
        _change(existing, now, message=message, status=reopened)
        session.flush()
        if level in ALERT_LEVELS:
            enqueue_alerts(session=session, flag=existing, event="raised", now=now)
    return existing


def _change(flag: Flag, now: datetime, **columns: object) -> Flag:
    """Set ``columns`` on ``flag`` and stamp ``updated_at``; a misspelt column fails, not hides."""
    for name, value in columns.items():
        if name not in Flag.__table__.columns:
            raise AttributeError(f"aftercare_flags has no column {name!r}")
        setattr(flag, name, value)
    flag.updated_at = now
    return flag


def acknowledge(*, session: Session, flag: Flag, by: str, now: Optional[datetime] = None) -> Flag:
    """Mark an open flag as taken care of by a staff member (who becomes its assignee)."""
    if flag.status != STATUS_OPEN:
        raise InvalidTransitionError(f"cannot acknowledge a {flag.status} flag")
    now = now or utcnow()
    return _change(
        flag, now, status=STATUS_ACKNOWLEDGED, assignee=by, acknowledged_by=by, acknowledged_at=now
    )


def alarm_for(outcome: str, alarm: Optional[str] = None) -> Optional[str]:
    """Return staff's verdict on the rule: as given, else read from the outcome when it says.

    "false_alarm" means the rule was wrong; contacting the patient or advising a visit means
    it was right; "other" says nothing unless staff also chose a verdict.
    """
    if alarm:
        if alarm not in ALARMS:
            raise ValueError(f"unknown alarm verdict {alarm!r}; expected one of {ALARMS}")
        return alarm
    if outcome == "false_alarm":
        return FALSE_ALARM
    if outcome in ("contacted_patient", "advised_visit"):
        return TRUE_ALARM
    return None


def resolve(
    *,
    session: Session,
    flag: Flag,
    by: str,
    outcome: str,
    note: Optional[str] = None,
    now: Optional[datetime] = None,
    alarm: Optional[str] = None,
) -> Flag:
    """Close a flag with what was done about it and whether its rule was right (``alarm_for``)."""
    if flag.status == STATUS_RESOLVED:
        raise InvalidTransitionError("the flag is already resolved")
    if outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {outcome!r}; expected one of {OUTCOMES}")
    verdict = alarm_for(outcome, alarm)
    now = now or utcnow()
    if flag.acknowledged_at is None:
        _change(flag, now, acknowledged_by=by, acknowledged_at=now)
    note = (note or "").strip() or None
    return _change(
        flag,
        now,
        status=STATUS_RESOLVED,
        outcome=outcome,
        alarm=verdict,
        note=note,
        resolved_by=by,
        resolved_at=now,
    )


def reopen(*, session: Session, flag: Flag, now: Optional[datetime] = None) -> Flag:
    """Put a resolved flag back into the queue; the note is kept for the next resolution.

    Refused when the conversation already has another unresolved flag of the same kind
    (it was flagged again after this one was resolved): that newer flag is the one to work on.
    """
    if flag.status != STATUS_RESOLVED:
        raise InvalidTransitionError(f"cannot reopen a {flag.status} flag")
    newer = unresolved_flag(session=session, conversation_id=flag.conversation_id, kind=flag.kind)
    if newer is not None:
        raise InvalidTransitionError(f"flag {newer.id} is already open for this conversation")
    return _change(
        flag,
        now or utcnow(),
        status=STATUS_OPEN,
        outcome=None,
        alarm=None,
        resolved_by=None,
        resolved_at=None,
    )


def flags_for_conversation(*, session: Session, conversation_id: str) -> List[Flag]:
    """Return every flag of one conversation, oldest first."""
    statement = select(Flag).where(Flag.conversation_id == conversation_id).order_by(Flag.created_at, Flag.id)
    return list(session.execute(statement).scalars())
