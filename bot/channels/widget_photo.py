"""Photo uploads from the website widget: ``POST /webhooks/widget/photo``.

The widget downscales the photo in the browser and posts it as base64 in the same
text/plain JSON body as its messages (no CORS preflight), with ``token``, ``id``, an
optional ``caption`` and ``consent: true`` once the patient agreed to the photo notice.
The server applies the same checks as for every channel (size, type by content,
re-encoding without EXIF), stores the photo, records the consent, and then hands the
message to the dispatcher like any other, which flags the conversation and acknowledges.

After a reload the history names the conversation's photos (``photo_entries``) and the widget
fetches each thumbnail from ``/photo/<id>/thumbnail`` with its session token: a patient gets
only the photos of their own conversation (``own_thumbnail``).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.channels.http import RequestError
from bot.channels.text import neutralise
from bot.media.images import TOO_LARGE, ImageRefusedError
from bot.media.intake import PhotoIntake, PhotoMessage
from bot.media.texts import CLINIC_CONSENT_KEY, PhotoTexts
from bot.media.texts import clinic_values as media_clinic_values
from bot.storage.photos import Photo, consent_given, photos_for_conversation, record_consent

# base64 is 4/3 of the bytes; the rest of the JSON is small.
BASE64_OVERHEAD = 4 / 3
BODY_SLACK = 16 * 1024
MAX_CAPTION = 2000


def body_limit(max_bytes: int) -> int:
    """The largest request body a photo of ``max_bytes`` can arrive in."""
    return int(max_bytes * BASE64_OVERHEAD) + BODY_SLACK


@dataclass(frozen=True)
class Upload:
    """One photo upload as the widget sent it."""

    data: bytes
    caption: Optional[str]
    consent: bool


def parse_upload(data: Mapping[str, Any], max_bytes: int) -> Upload:
    """Read the upload body; 400 when unusable, ``ImageRefusedError(too_large)`` when too big."""
    image = data.get("image")
    if not isinstance(image, str) or not image:
        raise RequestError(400, "image missing")
    if len(image) > body_limit(max_bytes):
        raise ImageRefusedError(TOO_LARGE)
    try:
        raw = base64.b64decode(image, validate=True)
    except (binascii.Error, ValueError):
        raise RequestError(400, "image is not base64") from None
    caption = data.get("caption")
    caption = neutralise(caption)[:MAX_CAPTION] if isinstance(caption, str) else None
    return Upload(raw, caption or None, data.get("consent") is True)


class ConsentMissingError(Exception):
    """The patient has not agreed to the photo notice yet."""


async def store_upload(intake: PhotoIntake, message: PhotoMessage, upload: Upload) -> None:
    """Record the consent (required before the first photo) and store the photo once."""
    consent_text = intake.texts.say("consent")

    def consent() -> None:
        def write(session: Any) -> None:
            if upload.consent:
                record_consent(
                    session=session, conversation_id=message.conversation_id, how="widget", text=consent_text
                )
            elif consent_given(session=session, conversation_id=message.conversation_id) is None:
                raise ConsentMissingError()

        intake.db.write(write)

    await asyncio.to_thread(consent)
    if await asyncio.to_thread(intake.stored, message.channel, message.message_id) is None:
        await asyncio.to_thread(intake.store_bytes, message, upload.data)


def _with_clinic_consent(clinic: Optional[Mapping[str, str]]) -> Optional[Mapping[str, str]]:
    """The channel's clinic values plus the clinic file's own consent wording, when it has one."""
    if clinic is None:
        return None
    own = media_clinic_values().get(CLINIC_CONSENT_KEY, "")
    return {**clinic, CLINIC_CONSENT_KEY: own} if own else clinic


def photo_config(texts: PhotoTexts, clinic: Optional[Mapping[str, str]], max_bytes: int) -> Dict[str, Any]:
    """What the widget needs for uploads: its labels, the consent notice, the size limit."""
    return {
        "labels": dict(texts.widget),
        "consent": texts.say("consent", _with_clinic_consent(clinic)),
        "max_bytes": max_bytes,
    }


def photo_entries(session: Session, conversation_id: str) -> List[Dict[str, Any]]:
    """The conversation's widget photos for its history: id, the message they came with, when."""
    return [
        {"id": int(photo.id), "message_id": str(photo.message_id), "at": photo.created_at.timestamp()}
        for photo in photos_for_conversation(session=session, conversation_id=conversation_id)
        if photo.channel == "widget"
    ]


def own_thumbnail(session: Session, conversation_id: str, photo_id: int) -> Optional[Tuple[str, str]]:
    """The thumbnail's file name and type, only if the photo belongs to this conversation."""
    statement = select(Photo.thumbnail_name, Photo.content_type).where(
        Photo.id == photo_id, Photo.conversation_id == conversation_id, Photo.channel == "widget"
    )
    row = session.execute(statement).first()
    return (str(row[0]), str(row[1])) if row is not None else None
