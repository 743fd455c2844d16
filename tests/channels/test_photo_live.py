"""Patient photos through the running assistant: a WhatsApp photo, and a widget upload in Chromium.

Reuses the session's ``channel_stack`` (one assistant for every channel test). The fake
provider serves the WhatsApp media endpoints; the widget runs in Debian's Chromium.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Iterator, List

import pytest
from sqlalchemy import select

from bot.media.store import MediaStore
from bot.media.texts import load_photo_texts
from bot.storage import make_engine, make_session_factory
from bot.storage.photos import Photo, PhotoConsent
from tests.browser import chromium_page
from tests.channels.conftest import flags_of, rendered_response, wait_until
from tests.channels.fake_providers import whatsapp_texts
from tests.channels.payloads import signed, whatsapp_event, whatsapp_image
from tests.media.images import has_gps, photo_bytes

pytestmark = pytest.mark.slow

WHATSAPP_MEDIA_ID = "1234567890"  # the media id payloads.whatsapp_image names


def _photos(channels: Any, conversation: str) -> List[Photo]:
    engine = make_engine(channels.stack.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            found = list(
                session.execute(select(Photo).where(Photo.conversation_id == conversation)).scalars()
            )
            session.expunge_all()
            return found
    finally:
        engine.dispose()


def _consents(channels: Any, conversation: str) -> List[str]:
    engine = make_engine(channels.stack.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            rows = session.execute(select(PhotoConsent).where(PhotoConsent.conversation_id == conversation))
            return [row.how for row in rows.scalars()]
    finally:
        engine.dispose()


def _store(channels: Any) -> MediaStore:
    return MediaStore(Path(channels.stack.env["AFTERCARE_VAR_DIR"]) / "media")


@pytest.fixture()
def served_photo(channel_stack) -> Iterator[None]:
    """The fake serves a photo under the payloads' media id for this test only (the other live
    tests' photos find none: the provider's "media gone" path)."""
    channel_stack.fake.media[WHATSAPP_MEDIA_ID] = photo_bytes("JPEG")
    yield
    channel_stack.fake.media.pop(WHATSAPP_MEDIA_ID, None)


def test_a_whatsapp_photo_with_a_red_flag_caption_escalates_once_and_is_kept_without_gps(
    channel_stack, served_photo
):
    patient = "447700900777"
    payload = whatsapp_event([whatsapp_image(patient, f"wamid.{uuid.uuid4().hex}", caption="I have a fever")])
    body, headers = signed(payload, channel_stack.secrets["AFTERCARE_WHATSAPP_APP_SECRET"])
    assert channel_stack.post("/webhooks/whatsapp/webhook", body, headers)[0] == 200

    received = load_photo_texts().say("received_reply")
    urgent = rendered_response("utter_escalate_urgent")
    texts = wait_until(lambda: (t := whatsapp_texts(channel_stack.fake, patient)) and received in t and t)
    assert urgent in texts  # the caption was triaged like any message
    assert texts.index(urgent) < texts.index(received)
    # One flag: the caption's urgent escalation; the photo cannot raise it further than urgent.
    flags = flags_of(channel_stack.stack.database_url, f"whatsapp:{patient}")
    assert [(f["kind"], f["level"]) for f in flags] == [("triage", "urgent")]
    [photo] = _photos(channel_stack, f"whatsapp:{patient}")
    assert not has_gps(_store(channel_stack).read(photo.file_name))


@pytest.fixture()
def page(channel_stack) -> Iterator[Any]:
    with chromium_page() as page:
        yield page


@pytest.mark.browser
def test_a_patient_uploads_a_photo_in_the_widget_after_agreeing_to_the_notice(page, channel_stack, tmp_path):
    from playwright.sync_api import expect

    texts = load_photo_texts()
    photo = tmp_path / "redness.jpg"
    photo.write_bytes(photo_bytes("JPEG", size=(3000, 2000)))
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_bytes(b"%PDF-1.7 this is a document")

    page.goto(f"{channel_stack.url}/webhooks/widget/demo")
    page.wait_for_selector(".acw[data-ready='true']", state="attached")
    page.click(".acw-launcher")
    page.get_by_role("button", name=texts.widget["attach_button"]).click()
    expect(page.locator(".acw-consent")).to_contain_text(texts.say("consent").split(".")[0])
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=texts.widget["consent_accept"]).click()
    chooser.value.set_files(str(photo))

    expect(page.locator(".acw-user img.acw-photo")).to_be_visible()
    expect(page.locator(".acw-bot").last).to_contain_text(texts.say("received_reply")[:60])
    thumbnail_width = page.locator("img.acw-photo").evaluate("img => img.naturalWidth")
    assert 0 < thumbnail_width <= 2048  # downscaled in the browser before it was sent

    session = page.evaluate("() => Object.keys(localStorage).map(k => localStorage.getItem(k))[0]")
    conversation = _conversation_of(channel_stack, session)
    [stored] = _photos(channel_stack, conversation)
    assert max(stored.width, stored.height) <= 2048 and not has_gps(
        _store(channel_stack).read(stored.file_name)
    )
    assert _consents(channel_stack, conversation) == ["widget"]
    flags = flags_of(channel_stack.stack.database_url, conversation)
    assert [(f["kind"], f["level"]) for f in flags] == [("triage", "routine")]

    # Consent is asked once; a file that is not a photo is refused with a clear message.
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=texts.widget["attach_button"]).click()
    chooser.value.set_files(str(not_a_photo))
    expect(page.locator(".acw-bot").last).to_contain_text(texts.say("not_an_image"))
    assert len(_photos(channel_stack, conversation)) == 1


def _conversation_of(channels: Any, token: str) -> str:
    """The widget conversation a browser's session token names (read back from the server)."""
    from bot.channels.security import SessionSigner

    session_id = SessionSigner(
        channels.secrets["AFTERCARE_WIDGET_SECRET"].encode(), max_age_seconds=3600
    ).verify(token)
    assert session_id
    return f"widget:{session_id}"
