"""STOP and START: recognise the phrases, keep each conversation's preference, answer them at once.

The phrases (``keywords.yml``) are matched on the whole message (trimmed, case and punctuation
ignored), so "stop" opts out while "the stinging won't stop" does not; a message that also
reports a symptom is not a bare STOP and goes through triage like any other.

The channel worker (``bot.channels.dispatch``) hands a bare phrase to :func:`answer_keyword`
instead of a turn: the preference and the inbox entry's confirmation are stored in one
transaction, and an entry already done is left alone, so a row handed over twice is recorded
and confirmed once.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, FrozenSet, Iterable, Mapping, Optional, Sequence, Tuple

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.checkins import names
from bot.settings import PROJECT_ROOT
from bot.storage.checkins import ContactPreference
from bot.storage.inbox import INBOX_PENDING, InboxEntry, complete_entry

KEYWORDS_FILE = Path(__file__).with_name("keywords.yml")
# The confirmations are the domain's responses, so the chat and the channel worker say the same.
DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
PATIENT_ACTOR = "patient"

_NOT_WORDS = re.compile(r"[^\w\s]")


class Command(str, Enum):
    """What a bare keyword message asks for."""

    STOP = "stop"
    START = "start"


CONFIRMATIONS = {Command.STOP: names.UTTER_CHECKIN_OPTED_OUT, Command.START: names.UTTER_CHECKIN_OPTED_IN}


def _words(text: str) -> str:
    return " ".join(_NOT_WORDS.sub(" ", text.lower()).split())


@lru_cache(maxsize=1)
def phrases() -> Mapping[Command, FrozenSet[str]]:
    """The STOP and START phrases of ``keywords.yml``, normalised as messages are."""
    data = yaml.safe_load(KEYWORDS_FILE.read_text(encoding="utf-8")) or {}
    found = {command: frozenset(_words(str(p)) for p in data.get(command.value) or []) for command in Command}
    if not all(found.values()) or found[Command.STOP] & found[Command.START]:
        raise ValueError(f"{KEYWORDS_FILE.name}: needs distinct 'stop' and 'start' phrase lists")
    return found


def command_in(text: Optional[str]) -> Optional[Command]:
    """Return STOP or START when the whole message is one of those phrases, else None."""
    words = _words(text or "")
    return next((command for command, known in phrases().items() if words in known), None)


@lru_cache(maxsize=1)
def confirmations() -> Dict[Command, Tuple[str, str]]:
    """Each command's confirmation as (text, response name), from the domain."""
    responses: Dict[str, Any] = yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8"))["responses"]
    return {command: (str(responses[name][0]["text"]), name) for command, name in CONFIRMATIONS.items()}


def set_opted_out(
    *,
    session: Session,
    conversation_id: str,
    opted_out: bool,
    actor: str,
    now: datetime,
    note: Optional[str] = None,
) -> ContactPreference:
    """Record the conversation's choice (opt out or back in), who made it, when, and how."""
    preference = session.execute(
        select(ContactPreference).where(ContactPreference.conversation_id == conversation_id)
    ).scalar_one_or_none()
    if preference is None:
        preference = ContactPreference(conversation_id=conversation_id, opted_out=opted_out)
        session.add(preference)
    preference.opted_out = opted_out
    preference.changed_by = actor[:64]
    preference.changed_at = now
    preference.note = note
    session.flush()
    return preference


def is_opted_out(*, session: Session, conversation_id: str) -> bool:
    """Tell whether the conversation said STOP (and not START since)."""
    value = session.execute(
        select(ContactPreference.opted_out).where(ContactPreference.conversation_id == conversation_id)
    ).scalar_one_or_none()
    return bool(value)


def answer_keyword(
    *,
    session: Session,
    entry_id: int,
    command: Command,
    replies: Sequence[Mapping[str, Any]],
    requests: Sequence[Mapping[str, Any]],
    now: datetime,
) -> bool:
    """Record a bare STOP/START and complete its inbox entry with the confirmation; False if done before."""
    entry = session.get(InboxEntry, entry_id)
    if entry is None or entry.status != INBOX_PENDING:
        return False
    set_opted_out(
        session=session,
        conversation_id=entry.conversation_id,
        opted_out=command is Command.STOP,
        actor=PATIENT_ACTOR,
        now=now,
        note=f"{command.value} keyword, inbox entry {entry_id}",
    )
    complete_entry(session=session, entry_id=entry_id, replies=replies, requests=requests, now=now)
    return True


def _waiting_command(session: Session, conversation_id: str) -> Optional[Command]:
    """The newest bare STOP/START the channel worker has accepted but not processed yet."""
    statement = (
        select(InboxEntry)
        .where(InboxEntry.conversation_id == conversation_id, InboxEntry.status == INBOX_PENDING)
        .order_by(InboxEntry.id.desc())
    )
    for entry in session.execute(statement).scalars():
        data = entry.data if isinstance(entry.data, dict) else {}
        text = data.get("text")
        command = command_in(text) if isinstance(text, str) and not data.get("media") else None
        if command is not None:
            return command
    return None


def opted_out(*, session: Session, conversation_ids: Iterable[str]) -> bool:
    """Tell whether any of these conversations (where we would write) asked us to stop.

    The recorded preference decides, unless a bare STOP or START is still waiting in the channel
    inbox (accepted just before the Rasa process went down): the patient's newest word wins.
    """
    for conversation_id in dict.fromkeys(conversation_ids):
        waiting = _waiting_command(session, conversation_id)
        if waiting is Command.STOP:
            return True
        if waiting is None and is_opted_out(session=session, conversation_id=conversation_id):
            return True
    return False
