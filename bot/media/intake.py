"""Receive a patient's photo: clean and store it, link it to the message, flag and answer.

Used by the channel dispatcher for every channel. Each step is idempotent, so an inbox
replay after a crash or a failed download does it at most once: the photo row is unique
per channel message, and the flag is raised in the transaction that marks the row flagged.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Awaitable, Callable, List, Optional, Tuple, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from bot.media.fetch import MediaFetchError
from bot.media.images import ImageRefusedError, clean_image
from bot.media.store import MediaStore
from bot.media.texts import PhotoTexts, load_photo_texts
from bot.storage import LazyDatabase
from bot.storage.flags import raise_flag, unresolved_flag
from bot.storage.photos import NewPhoto, Photo, add_photo, photo_for_message, record_consent
from bot.storage.vocabulary import LEVEL_SEVERITY, FlagKind

logger = logging.getLogger(__name__)

PHOTO_FLAG_RULE = "channel_photo"
# A photo moves the conversation up one triage level, from nothing to routine and from
# routine to urgent; emergency ("call emergency services") stays for the red-flag rules.
NEXT_LEVEL = {None: "routine", "routine": "urgent", "urgent": "urgent", "emergency": "emergency"}

Fetch = Callable[[str], Awaitable[bytes]]
T = TypeVar("T")


@dataclass(frozen=True)
class PhotoMessage:
    """The parts of a channel message the photo intake needs."""

    channel: str
    conversation_id: str
    sender_id: str
    message_id: str
    caption: Optional[str] = None
    media_ref: Optional[str] = None


def photo_level(current: Optional[str]) -> str:
    """The triage level a photo raises a conversation to, from its current unresolved level."""
    return NEXT_LEVEL.get(current, "routine")


class PhotoIntake:
    """Store photos under ``media_dir`` and record them in the database at ``database_url``."""

    def __init__(
        self,
        database_url: str,
        media_dir: Path,
        max_bytes: int,
        texts: Optional[PhotoTexts] = None,
        factory: Optional[sessionmaker] = None,
    ) -> None:
        self.database_url = database_url
        self.store = MediaStore(media_dir)
        self.max_bytes = max_bytes
        self._texts = texts
        self.db = LazyDatabase(lambda: database_url, factory)

    @property
    def texts(self) -> PhotoTexts:
        """The photo sentences."""
        if self._texts is None:
            self._texts = load_photo_texts()
        return self._texts

    # -- storing -----------------------------------------------------------------------------

    def stored(self, channel: str, message_id: str) -> Optional[int]:
        """The id of the photo already stored for this message, if any."""
        with self.db.factory().begin() as session:
            photo = photo_for_message(session=session, channel=channel, message_id=message_id)
            return None if photo is None else int(photo.id)

    def store_bytes(self, message: PhotoMessage, data: bytes) -> int:
        """Check, clean and store ``data`` for ``message``; raise ``ImageRefusedError`` if it is no photo."""
        clean = clean_image(data, self.max_bytes)
        names = [self.store.save(clean.data), self.store.save(clean.thumbnail)]
        row = NewPhoto(
            conversation_id=message.conversation_id,
            channel=message.channel,
            message_id=message.message_id,
            file_name=names[0],
            thumbnail_name=names[1],
            content_type=clean.content_type,
            size_bytes=len(clean.data),
            width=clean.width,
            height=clean.height,
        )

        def write(session: Session) -> Tuple[int, bool]:
            photo, new = add_photo(session=session, photo=row)
            return int(photo.id), new

        try:
            photo_id, new = self.db.write(write)
        except Exception:
            for name in names:
                self.store.delete(name)
            raise
        if not new:  # a concurrent replay stored this message's photo first
            for name in names:
                self.store.delete(name)
        return int(photo_id)

    # -- flagging ------------------------------------------------------------------------------

    def flag(self, message: PhotoMessage, consent_how: str = "photo") -> bool:
        """Raise the conversation's flag for the stored photo (once); True when consent was new."""
        texts = self.texts

        def write(session: Session) -> bool:
            photo = photo_for_message(session=session, channel=message.channel, message_id=message.message_id)
            if photo is None:
                raise LookupError("no stored photo for this message")
            _, consent_new = record_consent(
                session=session,
                conversation_id=message.conversation_id,
                how=consent_how,
                text=texts.say("consent"),
            )
            if not photo.flagged:
                self._raise(session, message, photo)
            return consent_new

        return self.db.write(write)

    def _raise(self, session: Session, message: PhotoMessage, photo: Photo) -> None:
        current = unresolved_flag(
            session=session, conversation_id=message.conversation_id, kind=FlagKind.TRIAGE.value
        )
        level = photo_level(current.level if current is not None else None)
        if current is None or LEVEL_SEVERITY[level] > LEVEL_SEVERITY[current.level]:
            raise_flag(
                session=session,
                conversation_id=message.conversation_id,
                channel=message.channel,
                level=level,
                kind=FlagKind.TRIAGE.value,
                reason=self.texts.sentences["flag_reason"],
                rule=PHOTO_FLAG_RULE,
                matched_text=self.texts.sentences["flag_message"],
                message=message.caption or self.texts.sentences["flag_message"],
                channel_user_id=message.sender_id,
            )
        photo.flagged = True

    # -- the whole answer ------------------------------------------------------------------------

    async def answer(self, message: PhotoMessage, fetch: Optional[Fetch], final: bool) -> Optional[List[str]]:
        """The texts answering a photo message; None when it cannot be had (answer as other media).

        A download that fails for now raises ``MediaFetchError`` so the inbox retries the
        message, except on the ``final`` attempt.
        """
        texts = self.texts
        if await asyncio.to_thread(self.stored, message.channel, message.message_id) is None:
            if fetch is None or not message.media_ref:
                return None
            try:
                data = await fetch(message.media_ref)
                await asyncio.to_thread(self.store_bytes, message, data)
            except ImageRefusedError as refused:
                return [texts.say(refused.reason)]
            except MediaFetchError as error:
                if error.permanent or final:
                    logger.warning("%s: photo download failed for good (%s)", message.channel, error)
                    return None
                raise
        consent_new = await asyncio.to_thread(self.flag, message)
        return ([texts.say("consent")] if consent_new else []) + [texts.say("received_reply")]
