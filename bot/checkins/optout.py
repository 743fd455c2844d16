"""STOP and START: recognise the words, and keep each conversation's preference.

The words are matched on the whole message (trimmed, case and punctuation ignored), so
"stop" opts out while "the stinging won't stop" does not; a message that also reports a
symptom is not a bare STOP and goes through triage like any other.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from typing import Optional

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.checkins import ContactPreference

STOP_WORDS = frozenset(
    {
        "stop",
        "stop messages",
        "stop all",
        "stopall",
        "unsubscribe",
        "cancel",
        "end",
        "quit",
        "opt out",
        "optout",
        "stop sending messages",
        "stop sending me messages",
        "stop the messages",
        "no more messages",
    }
)
START_WORDS = frozenset({"start", "unstop", "subscribe", "resume", "opt in", "start messages"})

_NOT_WORDS = re.compile(r"[^\w\s]")


class Command(str, Enum):
    """What a bare keyword message asks for."""

    STOP = "stop"
    START = "start"


def command_in(text: Optional[str]) -> Optional[Command]:
    """Return STOP or START when the whole message is one of those keywords, else None."""
    if not text:
        return None
    words = " ".join(_NOT_WORDS.sub(" ", text.lower()).split())
    if words in STOP_WORDS:
        return Command.STOP
    if words in START_WORDS:
        return Command.START
    return None


def set_opted_out(
    *, session: Session, conversation_id: str, opted_out: bool, actor: str, now: datetime
) -> ContactPreference:
    """Record the conversation's choice (opt out or back in) and who made it."""
    preference = session.execute(
        select(ContactPreference).where(ContactPreference.conversation_id == conversation_id)
    ).scalar_one_or_none()
    if preference is None:
        preference = ContactPreference(conversation_id=conversation_id, opted_out=opted_out)
        session.add(preference)
    preference.opted_out = opted_out
    preference.changed_by = actor[:64]
    preference.changed_at = now
    session.flush()
    return preference


def is_opted_out(*, session: Session, conversation_id: str) -> bool:
    """Tell whether the conversation said STOP (and not START since)."""
    value = session.execute(
        select(ContactPreference.opted_out).where(ContactPreference.conversation_id == conversation_id)
    ).scalar_one_or_none()
    return bool(value)
