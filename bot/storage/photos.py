"""Patient photos and photo consents: which file belongs to which conversation and message.

The file itself lives in the media store (``bot.media.store``); a row here links it to the
conversation and the channel message it came with. Callers own the transaction; nothing
here commits, and files are deleted only after the rows' deletion is committed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Sequence

from sqlalchemy import Boolean, Integer, String, UniqueConstraint, delete, select
from sqlalchemy.orm import Session

from bot.storage import columns
from bot.storage.db import insert_unless_taken, utcnow
from bot.storage.models import Base


class Photo(Base):
    """One photo a patient sent, stored re-encoded under a random file name."""

    __tablename__ = "aftercare_photos"

    id = columns.primary_id()
    conversation_id = columns.conversation_id(index=True)
    channel = columns.required(String(32))
    message_id = columns.required(String(255))
    file_name = columns.required(String(64))
    thumbnail_name = columns.required(String(64))
    content_type = columns.required(String(64))
    size_bytes = columns.required(Integer)
    width = columns.required(Integer)
    height = columns.required(Integer)
    # Set in the transaction that raised the conversation's flag, so a replay raises it once.
    flagged = columns.required(Boolean, default=False)
    created_at = columns.utc_now(index=True)

    __table_args__ = (UniqueConstraint("channel", "message_id", name="uq_aftercare_photos_message"),)


class PhotoConsent(Base):
    """A patient's consent to send photos, as shown to them (first request or first photo)."""

    __tablename__ = "aftercare_photo_consents"

    id = columns.primary_id()
    conversation_id = columns.conversation_id(unique=True)
    how = columns.required(String(32))
    consent_text = columns.required(String(2000))
    given_at = columns.utc_now()


@dataclass(frozen=True)
class NewPhoto:
    """What the intake knows about a photo it just stored."""

    conversation_id: str
    channel: str
    message_id: str
    file_name: str
    thumbnail_name: str
    content_type: str
    size_bytes: int
    width: int
    height: int


def photo_for_message(*, session: Session, channel: str, message_id: str) -> Optional[Photo]:
    """The photo stored for a channel message, if any."""
    statement = select(Photo).where(Photo.channel == channel, Photo.message_id == message_id)
    return session.execute(statement).scalars().first()


def add_photo(*, session: Session, photo: NewPhoto, now: Optional[datetime] = None) -> tuple[Photo, bool]:
    """Record a stored photo; a second record for the same message returns the first (and False)."""
    row = Photo(**photo.__dict__, flagged=False, created_at=now or utcnow())
    return insert_unless_taken(
        session,
        row,
        lambda: photo_for_message(session=session, channel=photo.channel, message_id=photo.message_id),
    )


def photos_for_conversation(*, session: Session, conversation_id: str) -> List[Photo]:
    """Every photo of a conversation, oldest first."""
    statement = (
        select(Photo).where(Photo.conversation_id == conversation_id).order_by(Photo.created_at, Photo.id)
    )
    return list(session.execute(statement).scalars())


def photos_by_message(*, session: Session, conversation_id: str) -> Dict[str, List[Photo]]:
    """A conversation's photos keyed by the channel message they came with."""
    found: Dict[str, List[Photo]] = {}
    for photo in photos_for_conversation(session=session, conversation_id=conversation_id):
        found.setdefault(photo.message_id, []).append(photo)
    return found


def consent_given(*, session: Session, conversation_id: str) -> Optional[PhotoConsent]:
    """The conversation's recorded photo consent, if any."""
    statement = select(PhotoConsent).where(PhotoConsent.conversation_id == conversation_id)
    return session.execute(statement).scalars().first()


def record_consent(
    *, session: Session, conversation_id: str, how: str, text: str, now: Optional[datetime] = None
) -> tuple[PhotoConsent, bool]:
    """Record consent once per conversation; True when this call recorded it."""
    row = PhotoConsent(
        conversation_id=conversation_id, how=how, consent_text=text[:2000], given_at=now or utcnow()
    )
    return insert_unless_taken(
        session, row, lambda: consent_given(session=session, conversation_id=conversation_id)
    )


def purge_photos(*, session: Session, before: datetime, dry_run: bool = False) -> List[str]:
    """Delete photo rows (and consents) older than ``before``; return the file names to remove."""
    old = list(session.execute(select(Photo).where(Photo.created_at < before)).scalars())
    names = [name for photo in old for name in (photo.file_name, photo.thumbnail_name)]
    if not dry_run and old:
        session.execute(
            delete(Photo).where(Photo.id.in_([photo.id for photo in old])),
            execution_options={"synchronize_session": False},
        )
        session.execute(
            delete(PhotoConsent).where(PhotoConsent.given_at < before),
            execution_options={"synchronize_session": False},
        )
    return names


def known_file_names(*, session: Session, names: Sequence[str]) -> set[str]:
    """Which of ``names`` a photo row still refers to."""
    wanted = list(names)
    if not wanted:
        return set()
    rows = session.execute(
        select(Photo.file_name, Photo.thumbnail_name).where(
            Photo.file_name.in_(wanted) | Photo.thumbnail_name.in_(wanted)
        )
    )
    return {name for row in rows for name in row}
