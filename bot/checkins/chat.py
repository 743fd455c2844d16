"""What the chat does about check-ins: offer them, record consent, honour STOP and START.

Called by the thin actions in ``actions/checkins.py``; each function takes the session (the
caller owns the transaction) and ``now``, and returns the response name to send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Mapping, Optional, Sequence

from sqlalchemy.orm import Session

from bot.channel_names import patient_channels
from bot.checkins import names
from bot.checkins.enrolment import EnrolmentRequest, active_enrolments, enrol
from bot.checkins.optout import PATIENT_ACTOR, Command, command_in, is_opted_out, set_opted_out
from bot.knowledge.procedures import Procedures
from bot.settings import CheckinSettings


def reachable_channel(conversation_id: str) -> Optional[str]:
    """The channel a check-in can reach this conversation on (``whatsapp:...``), or None (REST)."""
    channel, separator, sender = conversation_id.partition(":")
    return channel if separator and sender and channel in patient_channels() else None


def should_offer(
    *, session: Session, conversation_id: str, treatment_date: Optional[str], offer: Optional[str]
) -> bool:
    """Tell whether to ask "may I check in with you?" now.

    Only once per conversation, only after a treatment date is known, only on a channel we can
    write to, never to someone who said STOP or who is already enrolled.
    """
    if offer is not None or not treatment_date or reachable_channel(conversation_id) is None:
        return False
    if is_opted_out(session=session, conversation_id=conversation_id):
        return False
    return not active_enrolments(session=session, conversation_id=conversation_id)


def answers_the_offer(events: Sequence[Mapping[str, Any]]) -> bool:
    """Tell whether the latest patient message is the one right after "may I check in with you?".

    ``events`` are the tracker's, oldest first. The offer counts only if it was made in the
    assistant's answer to the patient's previous message; a yes any later answers something else.
    """
    latest_seen = False
    for event in reversed(events):
        kind = event.get("event")
        if kind == "user":
            if latest_seen:
                return False
            latest_seen = True
        elif latest_seen and kind == "slot" and event.get("name") == names.CHECKIN_OFFER:
            return event.get("value") == names.OFFER_ASKED
    return False


@dataclass(frozen=True)
class ConsentResult:
    """The response to send, and the enrolment made (None when none could be)."""

    response: str
    enrolment_id: Optional[int] = None


def consent_in_chat(
    *,
    session: Session,
    conversation_id: str,
    treatment_date: Optional[str],
    procedure: Optional[str],
    procedures: Procedures,
    settings: CheckinSettings,
    consent_version: str,
    now: datetime,
) -> ConsentResult:
    """Enrol the patient who said yes, with consent recorded as given by the patient."""
    channel = reachable_channel(conversation_id)
    try:
        treated = date.fromisoformat(treatment_date or "")
    except ValueError:
        treated = None
    if channel is None or treated is None:
        return ConsentResult(names.UTTER_CHECKIN_UNAVAILABLE)
    known = procedure if procedures.get(procedure) is not None else None
    enrolment = enrol(
        session=session,
        request=EnrolmentRequest(channel, "", known, treated, conversation_id=conversation_id),
        check_in_days=procedures.check_in_days(known),
        settings=settings,
        actor=PATIENT_ACTOR,
        now=now,
        consent_version=consent_version,
    )
    # Saying yes to check-ins is also saying START: an earlier STOP no longer applies.
    set_opted_out(
        session=session, conversation_id=conversation_id, opted_out=False, actor=PATIENT_ACTOR, now=now
    )
    return ConsentResult(names.UTTER_CHECKIN_CONSENT_RECORDED, enrolment.id)


def opt_out(*, session: Session, conversation_id: str, now: datetime) -> str:
    """Record STOP at once; every later send checks it."""
    set_opted_out(
        session=session, conversation_id=conversation_id, opted_out=True, actor=PATIENT_ACTOR, now=now
    )
    return names.UTTER_CHECKIN_OPTED_OUT


def opt_in(*, session: Session, conversation_id: str, now: datetime) -> str:
    """Record START: check-ins still scheduled go out again."""
    set_opted_out(
        session=session, conversation_id=conversation_id, opted_out=False, actor=PATIENT_ACTOR, now=now
    )
    return names.UTTER_CHECKIN_OPTED_IN


def is_stop_request(text: str) -> bool:
    """Tell whether a message the classifier read as STOP really asks to end the messages.

    A bare keyword always does; a longer message must name the messages or unsubscribing,
    so "stop" inside a question about a symptom never switches check-ins off by itself.
    """
    if command_in(text) is Command.STOP:
        return True
    lowered = text.lower()
    return any(word in lowered for word in ("unsubscribe", "opt out", "message", "check-in", "check in"))
