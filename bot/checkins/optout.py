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


INBOX_LOOKBACK = 50
SYSTEM_ACTOR = "system:checkins"


def honour_inbox_commands(*, session: Session, conversation_id: str) -> bool:
    """Apply a bare STOP or START the patient sent that is not on record yet; return whether opted out.

    The chat records STOP through the classifier and an action; this reads the channel inbox
    itself, so a STOP is honoured by the next send even if that path failed (action server or
    classifier). Only messages received after the last recorded change count, newest first.
    The change is stamped with the real time, like the inbox entries it is compared with.
    """
    from bot.storage.db import utcnow
    from bot.storage.inbox import InboxEntry

    preference = session.execute(
        select(ContactPreference).where(ContactPreference.conversation_id == conversation_id)
    ).scalar_one_or_none()
    statement = select(InboxEntry).where(InboxEntry.conversation_id == conversation_id)
    if preference is not None:
        statement = statement.where(InboxEntry.received_at > preference.changed_at)
    entries = session.execute(statement.order_by(InboxEntry.id.desc()).limit(INBOX_LOOKBACK)).scalars()
    for entry in entries:
        data = entry.data if isinstance(entry.data, dict) else {}
        command = command_in(data.get("text") if isinstance(data.get("text"), str) else None)
        if command is not None:
            opted_out = command is Command.STOP
            if preference is None or bool(preference.opted_out) != opted_out:
                set_opted_out(
                    session=session,
                    conversation_id=conversation_id,
                    opted_out=opted_out,
                    actor=SYSTEM_ACTOR,
                    now=utcnow(),
                )
            return opted_out
    return bool(preference.opted_out) if preference is not None else False
