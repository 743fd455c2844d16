"""The dispatcher: one processing per message id, patient text as plain words, media answered and flagged."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
from rasa.core.channels.channel import OutputChannel, UserMessage
from sqlalchemy import select

from bot.channels.dedup import MessageLedger
from bot.channels.dispatch import Dispatcher, Inbound, MediaFlagStore
from bot.channels.messages import load_channel_texts
from bot.storage import make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import Flag

PATIENT = "447700900123"


class RecordingOutput(OutputChannel):
    """Keeps what would have been sent to the patient."""

    def __init__(self) -> None:
        self.sent: List[Dict[str, str]] = []

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        self.sent.append({"to": recipient_id, "text": text})


class FakeRasa:
    """Stands in for ``agent.handle_message``: records messages and answers each one."""

    def __init__(self, fail_on: str = "") -> None:
        self.received: List[UserMessage] = []
        self.fail_on = fail_on

    async def __call__(self, message: UserMessage) -> None:
        await asyncio.sleep(0)
        self.received.append(message)
        if message.text == self.fail_on:
            raise RuntimeError("boom")
        await message.output_channel.send_text_message(message.sender_id, f"reply to {message.text}")


@pytest.fixture()
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


@pytest.fixture()
def dispatcher(database):
    url, engine = database
    return Dispatcher("whatsapp", database_url=url, ledger=MessageLedger(engine))


def _run(
    dispatcher: Dispatcher, batches: List[List[Inbound]], rasa: FakeRasa, output: RecordingOutput
) -> List[int]:
    async def go() -> List[int]:
        counts = [await dispatcher.accept(batch, rasa, output) for batch in batches]
        await dispatcher.drain()
        return counts

    return asyncio.run(go())


def test_a_redelivered_message_is_processed_once(dispatcher):
    rasa, output = FakeRasa(), RecordingOutput()
    message = Inbound("wamid.1", PATIENT, text="is peeling normal?")
    counts = _run(dispatcher, [[message], [message], [message]], rasa, output)
    assert counts == [1, 0, 0]
    assert [m.text for m in rasa.received] == ["is peeling normal?"]
    assert output.sent == [{"to": PATIENT, "text": "reply to is peeling normal?"}]


def test_rasa_gets_plain_text_with_channel_identity(dispatcher):
    rasa, output = FakeRasa(), RecordingOutput()
    _run(dispatcher, [[Inbound("wamid.2", PATIENT, text='/report_fever{"temperature": "41"}')]], rasa, output)
    [message] = rasa.received
    assert message.text == 'report_fever{"temperature": "41"}'
    assert (message.sender_id, message.input_channel, message.message_id) == (PATIENT, "whatsapp", "wamid.2")


def test_messages_of_one_patient_are_handled_in_arrival_order(dispatcher):
    rasa, output = FakeRasa(), RecordingOutput()
    batch = [Inbound(f"wamid.o{i}", PATIENT, text=f"message {i}") for i in range(5)]
    _run(dispatcher, [batch], rasa, output)
    assert [m.text for m in rasa.received] == [f"message {i}" for i in range(5)]


def test_a_failing_message_does_not_stop_the_next(dispatcher):
    rasa, output = FakeRasa(fail_on="bad"), RecordingOutput()
    _run(
        dispatcher,
        [[Inbound("wamid.f1", PATIENT, text="bad"), Inbound("wamid.f2", PATIENT, text="good")]],
        rasa,
        output,
    )
    assert output.sent == [{"to": PATIENT, "text": "reply to good"}]


def test_empty_text_is_not_sent_to_rasa(dispatcher):
    rasa, output = FakeRasa(), RecordingOutput()
    _run(dispatcher, [[Inbound("wamid.e1", PATIENT, text="/")]], rasa, output)
    assert rasa.received == []


def test_media_is_answered_in_words_and_flagged_for_staff(dispatcher, database):
    _, engine = database
    rasa, output = FakeRasa(), RecordingOutput()
    _run(dispatcher, [[Inbound("wamid.m1", PATIENT, media="image")]], rasa, output)
    texts = load_channel_texts()
    assert rasa.received == []
    [reply] = output.sent
    assert reply["to"] == PATIENT
    assert reply["text"].startswith(texts.media_reply.split("{")[0])
    assert "{" not in reply["text"]
    with make_session_factory(engine).begin() as session:
        [flag] = session.execute(select(Flag)).scalars().all()
        assert (flag.kind, flag.level, flag.channel, flag.channel_user_id) == (
            "handoff",
            "handoff",
            "whatsapp",
            PATIENT,
        )
        assert flag.conversation_id == PATIENT
        assert flag.matched_text == "image"
        assert texts.media_name("image") in flag.reason


def test_a_caption_is_read_before_the_media_notice(dispatcher):
    rasa, output = FakeRasa(), RecordingOutput()
    _run(dispatcher, [[Inbound("wamid.m2", PATIENT, text="I have a fever", media="image")]], rasa, output)
    assert [m.text for m in rasa.received] == ["I have a fever"]
    assert output.sent[0]["text"] == "reply to I have a fever"
    assert len(output.sent) == 2


def test_repeated_media_keeps_one_open_flag(database):
    url, engine = database
    store = MediaFlagStore(url)
    for _ in range(2):
        store(channel="telegram", sender_id="42", reason="r", media="voice", message="[voice]")
    with make_session_factory(engine).begin() as session:
        assert len(session.execute(select(Flag)).scalars().all()) == 1


def test_an_unreachable_ledger_does_not_lose_the_message(tmp_path):
    class BrokenLedger(MessageLedger):
        def __init__(self) -> None:
            pass

        def first_delivery(self, channel, message_id, now=None):
            raise OSError("disk gone")

    dispatcher = Dispatcher("telegram", database_url="sqlite://", ledger=BrokenLedger())
    rasa, output = FakeRasa(), RecordingOutput()
    _run(dispatcher, [[Inbound("1:1", "42", text="hello")]], rasa, output)
    assert [m.text for m in rasa.received] == ["hello"]
