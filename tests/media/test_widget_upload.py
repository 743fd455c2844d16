"""The widget's upload body: read, bounded, and consent required before the first photo."""

from __future__ import annotations

import asyncio
import base64
from typing import Tuple

import pytest
from sqlalchemy.engine import Engine

from bot.channels.http import RequestError
from bot.channels.widget_photo import ConsentMissingError, body_limit, parse_upload, store_upload
from bot.media.images import ImageRefusedError
from bot.media.intake import PhotoIntake, PhotoMessage
from bot.storage import make_session_factory
from bot.storage.photos import consent_given
from tests.media.images import has_gps, photo_bytes

LIMIT = 200_000


def test_an_upload_is_decoded_with_its_caption_and_consent() -> None:
    data = photo_bytes("PNG")
    upload = parse_upload(
        {"image": base64.b64encode(data).decode(), "caption": " /red? ", "consent": True}, LIMIT
    )
    assert (upload.data, upload.caption, upload.consent) == (data, "red?", True)


def test_an_upload_larger_than_the_limit_is_refused_as_too_large() -> None:
    with pytest.raises(ImageRefusedError) as refused:
        parse_upload({"image": "A" * (body_limit(LIMIT) + 4)}, LIMIT)
    assert refused.value.reason == "too_large"


@pytest.mark.parametrize("image", [None, "", "not base64!", 12])
def test_an_unusable_upload_is_400(image: object) -> None:
    with pytest.raises(RequestError) as error:
        parse_upload({"image": image}, LIMIT)
    assert error.value.status == 400


def test_the_first_upload_needs_consent_and_records_it(
    intake: PhotoIntake, database: Tuple[str, Engine]
) -> None:
    message = PhotoMessage("widget", "widget:s1", "s1", "s1:photo-0001")
    data = base64.b64encode(photo_bytes("JPEG")).decode()
    with pytest.raises(ConsentMissingError):
        asyncio.run(store_upload(intake, message, parse_upload({"image": data}, LIMIT * 50)))
    assert intake.stored("widget", message.message_id) is None
    asyncio.run(store_upload(intake, message, parse_upload({"image": data, "consent": True}, LIMIT * 50)))
    photo_id = intake.stored("widget", message.message_id)
    assert photo_id is not None
    with make_session_factory(database[1]).begin() as session:
        consent = consent_given(session=session, conversation_id="widget:s1")
        assert consent is not None and consent.how == "widget"
    # Later uploads need no new consent; a retry of the same upload stores nothing twice.
    asyncio.run(store_upload(intake, message, parse_upload({"image": data}, LIMIT * 50)))
    assert intake.stored("widget", message.message_id) == photo_id
    files = list(intake.store.names())
    assert len(files) == 2 and not any(has_gps(intake.store.read(name)) for name in files)
