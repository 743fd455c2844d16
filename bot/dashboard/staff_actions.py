"""What staff do to a conversation, shared by the dashboard pages and the JSON API.

Reply, take over, hand back: each runs in the caller's transaction with its audit entry,
and only on conversations that have a flag (staff reach patients through flags; the API
cannot be used to write to any phone number it likes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional, Sequence

from sqlalchemy.orm import Session

from bot.dashboard.db import record
from bot.storage import flags, outbound
from bot.storage.models import Flag, StaffUser
from bot.storage.photos import Photo, photos_for_conversation
from bot.storage.takeover import Takeover, TakeoverResult, active_takeover, open_takeover
from bot.storage.takeover_flow import hand_back, idle_timeout, staff_reply, start_takeover
from bot.storage.tracker import Transcript, read_transcript

MAX_REPLY_LENGTH = 2000


class ConversationNotFoundError(LookupError):
    """No flag names this conversation, so staff have no business writing to it."""


class ReplyRefusedError(ValueError):
    """The reply cannot be queued; ``code`` says why (empty, too_long, no_channel)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class Entry:
    """One line of the conversation page: a patient or assistant turn, or a staff/notice message."""

    kind: str  # user, bot, triage, staff, notice
    at: Optional[datetime]
    text: str = ""
    level: Optional[str] = None
    event_id: int = 0
    status: Optional[str] = None
    author: Optional[str] = None
    attachments: List[Any] = field(default_factory=list)
    # For staff only: the exact source file(s) and knowledge entry behind an answer.
    source_files: str = ""
    knowledge_entry: str = ""


@dataclass
class ConversationState:
    """Everything the conversation page and the API show about one conversation."""

    conversation_id: str
    flags: List[Flag]
    transcript: Transcript
    messages: List[outbound.OutboundMessage]
    takeover: Optional[Takeover]
    timeline: List[Entry]
    red_flags_during_takeover: List[Flag]


def conversation_flags(db: Session, conversation_id: str) -> List[Flag]:
    """The conversation's flags; refuse a conversation without any."""
    found = flags.flags_for_conversation(session=db, conversation_id=conversation_id)
    if not found:
        raise ConversationNotFoundError(conversation_id)
    return found


def photo_attachment(photo: Photo) -> Dict[str, str]:
    """A photo as the API and the transcript show it: a staff-only dashboard path and its type."""
    return {"url": f"/media/{photo.id}", "content_type": str(photo.content_type)}


def timeline(
    transcript: Transcript, messages: Sequence[outbound.OutboundMessage], photos: Sequence[Photo] = ()
) -> List[Entry]:
    """The turns, outbound messages and patient photos in one list, by time (turns keep their order)."""
    keyed = []
    last: Optional[datetime] = None
    for index, turn in enumerate(transcript.turns):
        last = turn.at or last
        entry = Entry(
            kind=turn.kind,
            at=turn.at,
            text=turn.text,
            level=turn.level,
            event_id=turn.event_id,
            source_files=turn.source_files,
            knowledge_entry=turn.knowledge_entry,
        )
        keyed.append(((last.timestamp() if last else 0.0), 0, index, entry))
    for index, message in enumerate(messages):
        at = message.sent_at or message.created_at
        kind = "staff" if message.kind == outbound.KIND_STAFF else "notice"
        entry = Entry(
            kind=kind,
            at=at,
            text=message.text,
            event_id=-message.id,
            status=message.status,
            author=message.author,
        )
        keyed.append((message.created_at.timestamp(), 1, index, entry))
    for index, photo in enumerate(photos):
        entry = Entry(kind="user", at=photo.created_at, attachments=[photo_attachment(photo)])
        keyed.append((photo.created_at.timestamp(), 2, index, entry))
    keyed.sort(key=lambda item: item[:3])
    return [item[3] for item in keyed]


def load_conversation(db: Session, conversation_id: str) -> ConversationState:
    """Read a flagged conversation: flags, transcript, staff messages, photos and the takeover."""
    found = conversation_flags(db, conversation_id)
    transcript = read_transcript(session=db, conversation_id=conversation_id)
    messages = outbound.for_conversation(session=db, conversation_id=conversation_id)
    photos = photos_for_conversation(session=db, conversation_id=conversation_id)
    current = active_takeover(session=db, conversation_id=conversation_id, idle_timeout=idle_timeout())
    during = [
        flag
        for flag in found
        if current is not None
        and flag.kind == "triage"
        and flag.status != "resolved"
        and flag.updated_at >= current.started_at
    ]
    return ConversationState(
        conversation_id=conversation_id,
        flags=found,
        transcript=transcript,
        messages=messages,
        takeover=current,
        timeline=timeline(transcript, messages, photos),
        red_flags_during_takeover=during,
    )


def take_over(db: Session, conversation_id: str, user: StaffUser) -> TakeoverResult:
    """Take the conversation over for ``user`` (or learn who holds it), audited."""
    conversation_flags(db, conversation_id)
    try:
        outbound.channel_of(conversation_id)
    except outbound.UnknownChannelError:
        raise ReplyRefusedError("no_channel") from None
    result = start_takeover(session=db, conversation_id=conversation_id, staff=user.username)
    detail = "taken" if result.taken else f"held_by={result.takeover.staff}"
    record(db, "conversation.takeover", target=f"conversation:{conversation_id}"[:255], detail=detail)
    return result


def give_back(db: Session, conversation_id: str, user: StaffUser) -> Optional[Takeover]:
    """Hand the conversation back to the assistant, audited; None if nobody held it."""
    conversation_flags(db, conversation_id)
    ended = hand_back(session=db, conversation_id=conversation_id, staff=user.username)
    record(
        db,
        "conversation.handback",
        target=f"conversation:{conversation_id}"[:255],
        detail=f"from={ended.staff}" if ended else "not_held",
    )
    return ended


def reply(
    db: Session, conversation_id: str, user: StaffUser, text: str, key: str
) -> outbound.OutboundMessage:
    """Queue a staff reply to the patient through their channel, audited (never with its words)."""
    conversation_flags(db, conversation_id)
    text = (text or "").strip()
    if not text:
        raise ReplyRefusedError("empty")
    if len(text) > MAX_REPLY_LENGTH:
        raise ReplyRefusedError("too_long")
    try:
        outbound.channel_of(conversation_id)
    except outbound.UnknownChannelError:
        raise ReplyRefusedError("no_channel") from None
    message = staff_reply(
        session=db,
        conversation_id=conversation_id,
        staff=user.username,
        text=text,
        key=f"staff:{conversation_id}:{key}"[:255],
    )
    record(
        db,
        "conversation.reply",
        target=f"conversation:{conversation_id}"[:255],
        detail=f"message={message.id}",
    )
    return message


def holder(db: Session, conversation_id: str) -> Optional[str]:
    """Who holds an open takeover of the conversation, if anyone."""
    found = open_takeover(session=db, conversation_id=conversation_id)
    return found.staff if found is not None else None
