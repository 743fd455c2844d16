"""Outbound messages (staff replies, notices) go out through the real connectors exactly once.

The connectors are the real WhatsApp, Telegram and Twilio classes, pointed at the local
provider fakes; the database is a real SQLite file migrated to head. A "restart" is a new
Dispatcher (and connector) on the same database.
"""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta
from typing import Any, Dict, Iterator, Tuple

import pytest

from bot.channels.dispatch import Dispatcher, StatusUpdate
from bot.channels.provider import ProviderInput
from bot.channels.telegram import TelegramInput
from bot.channels.twilio_sms import TwilioInput
from bot.channels.whatsapp import WhatsAppInput, parse_statuses
from bot.channels.widget_history import history
from bot.settings import Settings, StaffReplySettings
from bot.storage import inbox, make_engine, make_session_factory, outbound, utcnow
from bot.storage.migrate import upgrade
from tests.channels.fake_providers import FakeProviders, sent_to
from tests.channels.payloads import PHONE_NUMBER_ID

PATIENTS = {"whatsapp": "447700900123", "telegram": "5550001", "twilio": "+447700900456"}
SETTINGS = dataclasses.replace(
    Settings(),
    staff_replies=StaffReplySettings(whatsapp_template="aftercare_reply", whatsapp_template_language="en_GB"),
)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeProviders]:
    providers = FakeProviders().start()
    yield providers
    providers.stop()


@pytest.fixture()
def database(tmp_path) -> Iterator[Tuple[str, Any]]:
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


def connector(channel: str, fake: FakeProviders, url: str) -> ProviderInput:
    """A fresh connector and dispatcher on the database: what a restarted Rasa process builds."""
    made: ProviderInput
    if channel == "whatsapp":
        made = WhatsAppInput(
            {
                "verify_token": "v",
                "app_secret": "s",
                "access_token": "a",
                "phone_number_id": PHONE_NUMBER_ID,
                "api_base": f"{fake.url}/graph",
            }
        )
    elif channel == "telegram":
        made = TelegramInput(
            {"access_token": "123:abc", "secret_token": "t", "api_base": f"{fake.url}/telegram"}
        )
    else:
        made = TwilioInput(
            {
                "account_sid": "AC1",
                "auth_token": "x",
                "twilio_number": "+15005550006",
                "api_base": f"{fake.url}/twilio",
                "public_url": "https://assistant.example.org",
            }
        )
    made.dispatcher = Dispatcher(channel, database_url=url, sender=made, settings=SETTINGS)
    return made


def queue(engine: Any, conversation: str, text: str, key: str, kind: str = "staff") -> int:
    with make_session_factory(engine).begin() as session:
        row = outbound.queue_outbound(
            session, conversation_id=conversation, kind=kind, text=text, key=key, author="nurse"
        )
        return int(row.id)


def row(engine: Any, row_id: int) -> outbound.OutboundMessage:
    with make_session_factory(engine).begin() as session:
        found = session.get(outbound.OutboundMessage, row_id)
        assert found is not None
        return found


def patient_wrote(engine: Any, channel: str, sender: str, ago: timedelta = timedelta(0)) -> None:
    with make_session_factory(engine).begin() as session:
        inbox.record_delivery(
            session=session,
            channel=channel,
            message_id=f"in-{utcnow().timestamp()}",
            conversation_id=f"{channel}:{sender}",
            payload={"message_id": "x", "sender_id": sender, "text": "hello"},
            now=utcnow() - ago,
        )


@pytest.mark.parametrize("channel", ["whatsapp", "telegram", "twilio"])
def test_a_staff_reply_reaches_the_patient_once_also_after_a_restart(channel, fake, database):
    url, engine = database
    sender = PATIENTS[channel]
    patient_wrote(engine, channel, sender)
    text = f"Hello from the clinic on {channel}"
    row_id = queue(engine, f"{channel}:{sender}", text, key=f"test:{channel}:1")
    queue(engine, f"{channel}:{sender}", text, key=f"test:{channel}:1")  # same key: nothing new

    asyncio.run(connector(channel, fake, url).dispatcher.send_outbound())
    asyncio.run(connector(channel, fake, url).dispatcher.send_outbound())  # a restarted worker

    assert sent_to(fake, channel, sender).count(text) == 1
    assert row(engine, row_id).status == outbound.STATUS_SENT


def test_a_crash_after_queuing_the_calls_sends_them_once_on_restart(fake, database):
    url, engine = database
    sender = "447700900999"
    patient_wrote(engine, "whatsapp", sender)
    row_id = queue(engine, f"whatsapp:{sender}", "Queued before the crash", key="crash:1")
    first = connector("whatsapp", fake, url).dispatcher
    # The first process queued the provider call and died before sending it.
    first.write(lambda session: first._render_outbound_in(session, utcnow()))
    assert sent_to(fake, "whatsapp", sender) == []

    asyncio.run(connector("whatsapp", fake, url).dispatcher.send_outbound())
    asyncio.run(connector("whatsapp", fake, url).dispatcher.send_outbound())

    assert sent_to(fake, "whatsapp", sender) == ["Queued before the crash"]
    assert row(engine, row_id).status == outbound.STATUS_SENT


def test_whatsapp_status_callbacks_move_the_row_to_delivered_and_never_back(fake, database):
    url, engine = database
    sender = "447700900321"
    patient_wrote(engine, "whatsapp", sender)
    row_id = queue(engine, f"whatsapp:{sender}", "Status please", key="status:1")
    whatsapp = connector("whatsapp", fake, url)
    asyncio.run(whatsapp.dispatcher.send_outbound())
    with make_session_factory(engine).begin() as session:
        [receipt] = list(session.query(outbound.OutboundReceipt).filter_by(outbound_id=row_id))
        wamid = receipt.provider_message_id
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "changes": [
                    {"field": "messages", "value": {"statuses": [{"id": wamid, "status": "delivered"}]}}
                ]
            }
        ],
    }
    asyncio.run(whatsapp.dispatcher.apply_statuses(parse_statuses(payload)))
    assert row(engine, row_id).status == outbound.STATUS_DELIVERED
    asyncio.run(whatsapp.dispatcher.apply_statuses([StatusUpdate(wamid, "sent")]))
    assert row(engine, row_id).status == outbound.STATUS_DELIVERED
    asyncio.run(whatsapp.dispatcher.apply_statuses([StatusUpdate("wamid.someone-else", "failed")]))
    assert row(engine, row_id).status == outbound.STATUS_DELIVERED


def test_outside_the_whatsapp_window_a_template_goes_first_and_the_reply_after_the_patient_answers(
    fake, database
):
    url, engine = database
    sender = "447700900777"
    patient_wrote(engine, "whatsapp", sender, ago=timedelta(hours=30))
    first = queue(engine, f"whatsapp:{sender}", "Held reply one", key="held:1")
    second = queue(engine, f"whatsapp:{sender}", "Held reply two", key="held:2")

    asyncio.run(connector("whatsapp", fake, url).dispatcher.send_outbound())
    asyncio.run(connector("whatsapp", fake, url).dispatcher.send_outbound())

    calls = fake.matching(lambda c: (c.body or {}).get("to") == sender)
    assert [c.body["type"] for c in calls] == ["template"]
    assert calls[0].body["template"] == {"name": "aftercare_reply", "language": {"code": "en_GB"}}
    assert row(engine, first).status == outbound.STATUS_QUEUED

    patient_wrote(engine, "whatsapp", sender)
    asyncio.run(connector("whatsapp", fake, url).dispatcher.send_outbound())

    assert sent_to(fake, "whatsapp", sender) == ["Held reply one", "Held reply two"]
    assert row(engine, first).status == row(engine, second).status == outbound.STATUS_SENT


def test_a_refused_call_fails_the_row(database):
    url, engine = database
    sender = PATIENTS["telegram"]
    row_id = queue(engine, f"telegram:{sender}", "Refused", key="refused:1")
    fake = FakeProviders().start()
    try:
        # The fake answers 404 outside its provider paths: a refusal, never retried.
        telegram = TelegramInput(
            {"access_token": "1:a", "secret_token": "t", "api_base": f"{fake.url}/nowhere"}
        )
        telegram.dispatcher = Dispatcher("telegram", database_url=url, sender=telegram, settings=SETTINGS)
        asyncio.run(telegram.dispatcher.send_outbound())
    finally:
        fake.stop()
    assert row(engine, row_id).status == outbound.STATUS_FAILED


def test_widget_rows_are_released_by_the_worker_and_delivered_when_the_history_is_read(database):
    url, engine = database
    row_id = queue(engine, "widget:session-1", "A nurse writes", key="widget:1")
    notice_id = queue(engine, "widget:session-1", "The assistant is back", key="widget:2", kind="notice")
    widget = Dispatcher("widget", database_url=url, settings=SETTINGS)
    asyncio.run(widget.send_outbound())
    assert row(engine, row_id).status == outbound.STATUS_SENT

    rows: Dict[str, Any] = {}
    with make_session_factory(engine).begin() as session:
        found = outbound.for_conversation(session=session, conversation_id="widget:session-1")
        rows = {
            "rows": [{"id": r.id, "kind": r.kind, "text": r.text, "at": r.sent_at.timestamp()} for r in found]
        }
    events = [{"event": "user", "text": "hi", "message_id": "session-1:abc", "timestamp": 1.0}]
    messages = history(events, outbound=rows["rows"])
    assert [(m["from"], m["text"]) for m in messages] == [
        ("user", "hi"),
        ("staff", "A nurse writes"),
        ("assistant", "The assistant is back"),
    ]
    assert row(engine, notice_id).status == outbound.STATUS_SENT


def test_queue_outbound_refuses_unknown_channels_and_kinds(database):
    _, engine = database
    with make_session_factory(engine).begin() as session:
        with pytest.raises(outbound.UnknownChannelError):
            outbound.queue_outbound(session, conversation_id="rest:abc", kind="staff", text="x", key="k1")
        with pytest.raises(ValueError):
            outbound.queue_outbound(session, conversation_id="widget:abc", kind="gossip", text="x", key="k2")


def test_the_retention_purge_drops_finished_outbound_messages_but_keeps_queued_ones(database):
    from bot.storage.retention import purge

    _, engine = database
    old = utcnow() - timedelta(days=200)
    with make_session_factory(engine).begin() as session:
        done = outbound.queue_outbound(
            session, conversation_id="widget:s1", kind="staff", text="old", key="old:1", now=old
        )
        outbound.advance(done, outbound.STATUS_DELIVERED)
        outbound.queue_outbound(
            session, conversation_id="widget:s1", kind="staff", text="owed", key="old:2", now=old
        )
    with make_session_factory(engine).begin() as session:
        assert purge(session=session, before=utcnow() - timedelta(days=180)).channel_messages == 1
    with make_session_factory(engine).begin() as session:
        left = outbound.for_conversation(session=session, conversation_id="widget:s1")
        assert [row.text for row in left] == ["owed"]


def test_the_worker_ends_an_idle_takeover_and_tells_the_patient_once(fake, database):
    from bot.storage.takeover_flow import TAKEOVER_ENDED, notice_text, start_takeover

    url, engine = database
    sender = "5550777"
    with make_session_factory(engine).begin() as session:
        start_takeover(
            session=session,
            conversation_id=f"telegram:{sender}",
            staff="nurse",
            now=utcnow() - timedelta(hours=2),
        )
    for _ in range(2):  # a second pass (or a restarted worker) finds nothing more to do
        asyncio.run(connector("telegram", fake, url).dispatcher.send_outbound())
    texts = sent_to(fake, "telegram", sender)
    assert texts[-1] == notice_text(TAKEOVER_ENDED) and texts.count(notice_text(TAKEOVER_ENDED)) == 1
