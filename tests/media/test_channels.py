"""A photo through each provider connector, its media served by the local provider fake.

The connectors, dispatcher, inbox, SQLite database and media folder are real; Rasa is
stood in for by ``FakeRasa`` (the caption's triage is the slow suites' concern).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Iterator, List, Tuple

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine

from bot.channels import telegram, twilio_sms, whatsapp
from bot.channels.dispatch import Assistant, Dispatcher, Inbound
from bot.channels.messages import load_channel_texts
from bot.channels.provider import ProviderInput
from bot.media.intake import PhotoIntake
from bot.media.store import MediaStore
from bot.media.texts import load_photo_texts
from bot.storage import inbox, make_session_factory
from bot.storage.models import AlertOutbox, Flag
from bot.storage.photos import Photo, PhotoConsent
from tests.channels import payloads
from tests.channels.fake_providers import FakeProviders, sent_to
from tests.channels.test_dispatch import FakeRasa
from tests.media.images import has_gps, oversized_jpeg, photo_bytes

TWILIO_SID = "AC00000000000000000000000000000000"
WHATSAPP_MEDIA_ID = "1234567890"  # the id in payloads.whatsapp_image
TELEGRAM_FILE_ID = "AgAD"  # the file id in payloads.telegram_photo


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    server = FakeProviders().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_fake(fake: FakeProviders) -> None:
    fake.calls.clear()
    fake.downloads.clear()
    fake.media.clear()
    fake.media_failures = 0


def connector(channel: str, fake: FakeProviders, url: str, intake: PhotoIntake) -> ProviderInput:
    """A real connector whose API base is the fake, with its dispatcher on the test database."""
    made: ProviderInput
    if channel == "whatsapp":
        made = whatsapp.WhatsAppInput(
            {
                "verify_token": "v",
                "app_secret": "s",
                "access_token": "EAAG-token",
                "phone_number_id": payloads.PHONE_NUMBER_ID,
                "api_base": f"{fake.url}/graph",
            }
        )
    elif channel == "telegram":
        made = telegram.TelegramInput(
            {"access_token": "123456:ABC", "secret_token": "t", "api_base": f"{fake.url}/telegram"}
        )
    else:
        made = twilio_sms.TwilioInput(
            {
                "account_sid": TWILIO_SID,
                "auth_token": "twilio-auth-token",
                "twilio_number": "+15005550006",
                "api_base": f"{fake.url}/twilio",
            }
        )
    made.dispatcher = Dispatcher(channel, database_url=url, sender=made, photos=intake)
    return made


def photo_message(channel: str, fake: FakeProviders, number: int, caption: str = "") -> Tuple[Inbound, str]:
    """A photo message as the connector parses it from a real webhook payload, and its recipient."""
    if channel == "whatsapp":
        event = payloads.whatsapp_event([payloads.whatsapp_image("447700900001", f"wamid.{number}", caption)])
        [item] = whatsapp.parse_webhook(event, payloads.PHONE_NUMBER_ID)
        return item, "447700900001"
    if channel == "telegram":
        update = payloads.telegram_photo(number, 555001, caption or None)
        [item] = telegram.parse_update(update, "123456", "Hello")
        return item, "555001"
    url = f"{fake.url}/twilio/2010-04-01/Accounts/{TWILIO_SID}/Messages/MM{number}/Media/ME{number}"
    form = payloads.twilio_form(
        f"MM{number}", "+447700900002", caption, NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg"
    )
    [item] = twilio_sms.parse_message(twilio_sms.FormParams({k: [v] for k, v in form.items()}))
    return item, "+447700900002"


def serve(fake: FakeProviders, channel: str, number: int, data: bytes) -> None:
    key = {"whatsapp": WHATSAPP_MEDIA_ID, "telegram": TELEGRAM_FILE_ID}.get(channel, f"ME{number}")
    fake.media[key] = data


def run(made: ProviderInput, items: List[Inbound], rasa: FakeRasa, replay: bool = False) -> None:
    async def go() -> None:
        await made.dispatcher.accept(items, Assistant(rasa))
        await made.dispatcher.drain()
        if replay:
            await made.dispatcher.replay(Assistant(rasa))
            await made.dispatcher.drain()

    asyncio.run(go())


def rows(engine: Engine, model: Any) -> List[Any]:
    with make_session_factory(engine).begin() as session:
        found = list(session.execute(select(model).order_by(model.id)).scalars())
        session.expunge_all()
        return found


def say(name: str) -> str:
    return load_photo_texts().say(name)


CHANNELS = ["whatsapp", "telegram", "twilio"]


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_photo_is_stored_without_gps_flagged_and_acknowledged(
    channel: str, fake: FakeProviders, database: Tuple[str, Engine], intake: PhotoIntake, media_dir: Path
) -> None:
    url, engine = database
    made, rasa = connector(channel, fake, url, intake), FakeRasa()
    item, recipient = photo_message(channel, fake, 1, caption="is this redness normal?")
    serve(fake, channel, 1, photo_bytes("JPEG"))
    run(made, [item], rasa)

    [photo] = rows(engine, Photo)
    assert (photo.conversation_id, photo.message_id) == (f"{channel}:{recipient}", item.message_id)
    stored = MediaStore(media_dir).read(photo.file_name)
    assert stored.startswith(b"\xff\xd8\xff") and not has_gps(stored)
    assert not has_gps(MediaStore(media_dir).read(photo.thumbnail_name))
    # The caption went to the assistant like any message; the photo was answered, never described.
    assert [m.text for m in rasa.received] == ["is this redness normal?"]
    texts = sent_to(fake, channel, recipient)
    assert texts[-2:] == [say("consent"), say("received_reply")]
    [flag] = rows(engine, Flag)
    assert (flag.kind, flag.level, flag.rule, flag.message) == (
        "triage",
        "routine",
        "channel_photo",
        "is this redness normal?",
    )
    [consent] = rows(engine, PhotoConsent)
    assert (consent.conversation_id, consent.how, consent.consent_text) == (
        f"{channel}:{recipient}",
        "photo",
        say("consent"),
    )


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_second_photo_raises_the_flag_one_level_and_alerts(
    channel: str, fake: FakeProviders, database: Tuple[str, Engine], intake: PhotoIntake
) -> None:
    url, engine = database
    made, rasa = connector(channel, fake, url, intake), FakeRasa()
    first, recipient = photo_message(channel, fake, 1)
    serve(fake, channel, 1, photo_bytes("PNG"))
    run(made, [first], rasa)
    assert [f.level for f in rows(engine, Flag)] == ["routine"] and rows(engine, AlertOutbox) == []

    second, _ = photo_message(channel, fake, 2)
    serve(fake, channel, 2, photo_bytes("WEBP"))
    run(made, [second, second], rasa)  # a redelivery in the same batch changes nothing
    [flag] = rows(engine, Flag)
    assert flag.level == "urgent"
    alerts = rows(engine, AlertOutbox)
    assert alerts and {(a.event, a.level) for a in alerts} == {("raised", "urgent")}
    assert len(rows(engine, Photo)) == 2
    texts = sent_to(fake, channel, recipient)
    assert texts.count(say("consent")) == 1 and texts.count(say("received_reply")) == 2


@pytest.mark.parametrize("channel", CHANNELS)
def test_a_failed_download_is_retried_through_the_inbox(
    channel: str, fake: FakeProviders, database: Tuple[str, Engine], intake: PhotoIntake
) -> None:
    url, engine = database
    made, rasa = connector(channel, fake, url, intake), FakeRasa()
    item, recipient = photo_message(channel, fake, 1)
    serve(fake, channel, 1, photo_bytes("JPEG"))
    fake.media_failures = 1
    run(made, [item], rasa)
    [entry] = rows(engine, inbox.InboxEntry)
    assert (entry.status, entry.attempts, rows(engine, Photo)) == ("pending", 1, [])
    assert sent_to(fake, channel, recipient) == []

    run(made, [], rasa, replay=True)
    assert len(rows(engine, Photo)) == 1 and len(rows(engine, Flag)) == 1
    assert sent_to(fake, channel, recipient) == [say("consent"), say("received_reply")]


@pytest.mark.parametrize(
    ("data", "reason"),
    [(b"%PDF-1.7 a document", "not_an_image"), (None, "too_large")],
    ids=["not-an-image", "oversized"],
)
def test_a_refused_file_is_answered_clearly_and_not_kept(
    data: Any, reason: str, fake: FakeProviders, database: Tuple[str, Engine], media_dir: Path
) -> None:
    url, engine = database
    limit = 300_000
    small = PhotoIntake(url, media_dir, limit)
    made, rasa = connector("whatsapp", fake, url, small), FakeRasa()
    item, recipient = photo_message("whatsapp", fake, 1)
    serve(fake, "whatsapp", 1, data if data is not None else oversized_jpeg(limit))
    run(made, [item], rasa)
    assert sent_to(fake, "whatsapp", recipient) == [say(reason)]
    assert rows(engine, Photo) == [] and list(MediaStore(media_dir).names()) == []


def test_a_twilio_media_url_on_another_host_is_never_fetched_with_the_credentials(
    fake: FakeProviders, database: Tuple[str, Engine], intake: PhotoIntake
) -> None:
    url, engine = database
    made, rasa = connector("twilio", fake, url, intake), FakeRasa()
    form = payloads.twilio_form(
        "MM9",
        "+447700900002",
        "",
        NumMedia="1",
        MediaUrl0=f"{fake.url}/elsewhere/ME9",
        MediaContentType0="image/png",
    )
    [item] = twilio_sms.parse_message(twilio_sms.FormParams({k: [v] for k, v in form.items()}))
    run(made, [item], rasa)
    assert fake.downloads == []
    texts = load_channel_texts()
    [answer] = sent_to(fake, "twilio", "+447700900002")
    assert answer.startswith(texts.media_reply.split("{")[0].strip())
    [flag] = rows(engine, Flag)
    assert flag.kind == "handoff"
