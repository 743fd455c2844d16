"""The durable inbox and outbox: written before the ack, processed once, in order, replayed after a crash.

Rasa is stood in for by ``FakeRasa`` and the provider by ``RecordingSender``; the database
is a real SQLite file migrated to head.
"""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Mapping, Optional

import pytest
from rasa.core.channels.channel import UserMessage
from sqlalchemy import select

from bot.channels.dispatch import Assistant, Dispatcher, Inbound, MediaFlagStore, reply
from bot.channels.http import Delivery
from bot.channels.messages import load_channel_texts
from bot.storage import inbox, make_engine, make_session_factory
from bot.storage.migrate import upgrade
from bot.storage.models import Flag

PATIENT = "447700900123"
CONVERSATION = f"whatsapp:{PATIENT}"


class FakeRasa:
    """Stands in for ``agent.handle_message``: records messages and answers each one."""

    def __init__(self, fail_on: str = "", fail_times: int = 1_000) -> None:
        self.received: List[UserMessage] = []
        self.fail_on = fail_on
        self.fail_times = fail_times
        self.gate: Optional[asyncio.Event] = None

    async def __call__(self, message: UserMessage) -> None:
        await asyncio.sleep(0)
        if self.gate is not None:
            await self.gate.wait()
        self.received.append(message)
        if message.text == self.fail_on and self.fail_times > 0:
            self.fail_times -= 1
            raise RuntimeError("boom")
        await message.output_channel.send_text_message(
            message.sender_id, f"reply to {message.text}", utter_action="utter_test"
        )


class RecordingSender:
    """A provider: renders one call per reply and records what it delivered."""

    def __init__(self, outcomes: Optional[List[Delivery]] = None) -> None:
        self.delivered: List[Dict[str, Any]] = []
        self.outcomes = list(outcomes or [])

    def render(self, recipient: str, message: Mapping[str, Any]) -> List[Dict[str, Any]]:
        return [{"recipient": recipient, "text": message["text"]}]

    def acknowledgements(self, item: Inbound) -> List[Dict[str, Any]]:
        callback = item.metadata.get("callback_query_id")
        return [{"recipient": f"callback:{callback}", "text": "ack"}] if callback else []

    async def deliver(self, request: Mapping[str, Any]) -> Delivery:
        outcome = self.outcomes.pop(0) if self.outcomes else Delivery.SENT
        if outcome is Delivery.SENT:
            self.delivered.append(dict(request))
        return outcome


@pytest.fixture()
def database(tmp_path):
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


def _dispatcher(url: str, sender: Optional[RecordingSender] = None, flag_media: Any = None) -> Dispatcher:
    return Dispatcher("whatsapp", database_url=url, sender=sender or RecordingSender(), flag_media=flag_media)


def _accept(dispatcher: Dispatcher, batches: List[List[Inbound]], rasa: FakeRasa) -> List[int]:
    async def go() -> List[int]:
        counts = [await dispatcher.accept(batch, Assistant(rasa)) for batch in batches]
        await dispatcher.drain()
        return counts

    return asyncio.run(go())


def _entries(engine) -> List[inbox.InboxEntry]:
    with make_session_factory(engine).begin() as session:
        return list(session.execute(select(inbox.InboxEntry).order_by(inbox.InboxEntry.id)).scalars())


def _texts(sender: RecordingSender) -> List[str]:
    return [call["text"] for call in sender.delivered]


def test_a_redelivered_message_is_processed_and_answered_once(database):
    url, engine = database
    sender, rasa = RecordingSender(), FakeRasa()
    dispatcher = _dispatcher(url, sender)
    message = Inbound("wamid.1", PATIENT, text="is peeling normal?")
    assert _accept(dispatcher, [[message], [message], [message]], rasa) == [1, 0, 0]
    assert [m.text for m in rasa.received] == ["is peeling normal?"]
    assert sender.delivered == [{"recipient": PATIENT, "text": "reply to is peeling normal?"}]
    [entry] = _entries(engine)
    assert (entry.status, entry.conversation_id, entry.data["text"]) == (
        "done",
        CONVERSATION,
        "is peeling normal?",
    )
    assert entry.replies == [reply("reply to is peeling normal?", "utter_test")]


def test_rasa_gets_plain_text_in_a_conversation_named_by_channel(database):
    url, _ = database
    rasa = FakeRasa()
    _accept(
        _dispatcher(url), [[Inbound("wamid.2", PATIENT, text='/report_fever{"temperature": "41"}')]], rasa
    )
    [message] = rasa.received
    assert message.text == 'report_fever{"temperature": "41"}'
    assert (message.sender_id, message.input_channel, message.message_id) == (
        CONVERSATION,
        "whatsapp",
        "wamid.2",
    )


def test_messages_of_one_patient_are_handled_in_arrival_order(database):
    url, _ = database
    rasa, sender = FakeRasa(), RecordingSender()
    batches = [[Inbound(f"wamid.o{i}", PATIENT, text=f"message {i}")] for i in range(5)]
    _accept(_dispatcher(url, sender), batches, rasa)
    assert [m.text for m in rasa.received] == [f"message {i}" for i in range(5)]
    assert _texts(sender) == [f"reply to message {i}" for i in range(5)]


def test_a_failing_message_stays_pending_and_holds_back_the_next_until_it_succeeds(database):
    url, engine = database
    rasa, sender = FakeRasa(fail_on="first", fail_times=1), RecordingSender()
    dispatcher = _dispatcher(url, sender)
    _accept(
        dispatcher,
        [[Inbound("wamid.f1", PATIENT, text="first"), Inbound("wamid.f2", PATIENT, text="second")]],
        rasa,
    )
    assert [e.status for e in _entries(engine)] == ["pending", "pending"]
    assert sender.delivered == []
    asyncio.run(dispatcher.replay(Assistant(rasa)))
    assert [e.status for e in _entries(engine)] == ["done", "done"]
    assert _texts(sender) == ["reply to first", "reply to second"]


def test_a_message_that_always_fails_is_given_up_and_no_longer_blocks(database):
    url, engine = database
    rasa, sender = FakeRasa(fail_on="poison"), RecordingSender()
    dispatcher = _dispatcher(url, sender)
    _accept(
        dispatcher,
        [[Inbound("wamid.p1", PATIENT, text="poison"), Inbound("wamid.p2", PATIENT, text="fine")]],
        rasa,
    )
    for _ in range(inbox.MAX_PROCESS_ATTEMPTS):
        asyncio.run(dispatcher.replay(Assistant(rasa)))
    assert [e.status for e in _entries(engine)] == ["failed", "done"]
    assert _texts(sender) == ["reply to fine"]


def test_pending_messages_are_replayed_by_a_new_process(database):
    """A crash after the acknowledgement: the entry is written, nothing else happened."""
    url, engine = database
    _dispatcher(url)._record([Inbound("wamid.c1", PATIENT, text="I have a fever")])
    rasa, sender = FakeRasa(), RecordingSender()
    asyncio.run(_dispatcher(url, sender).replay(Assistant(rasa)))
    assert [m.text for m in rasa.received] == ["I have a fever"]
    assert _texts(sender) == ["reply to I have a fever"]
    assert [e.status for e in _entries(engine)] == ["done"]


def test_a_turn_rasa_already_stored_is_not_processed_again(database):
    """A crash after Rasa stored the turn but before the entry was marked done."""
    url, engine = database
    _dispatcher(url)._record([Inbound("wamid.s1", PATIENT, text="I have a fever")])

    class StoredAssistant(Assistant):
        async def stored_turn(self, conversation: str, message_id: str) -> Optional[List[Dict[str, Any]]]:
            assert (conversation, message_id) == (CONVERSATION, "wamid.s1")
            return [reply("stored escalation", "utter_escalate_urgent")]

    rasa, sender = FakeRasa(), RecordingSender()
    asyncio.run(_dispatcher(url, sender).replay(StoredAssistant(rasa)))
    assert rasa.received == []
    assert _texts(sender) == ["stored escalation"]
    assert [e.status for e in _entries(engine)] == ["done"]


def test_a_failed_send_is_retried_and_a_refused_one_is_not(database):
    url, engine = database
    sender = RecordingSender([Delivery.RETRY])
    dispatcher = _dispatcher(url, sender)
    _accept(dispatcher, [[Inbound("wamid.r1", PATIENT, text="hello")]], FakeRasa())
    assert sender.delivered == []
    with make_session_factory(engine).begin() as session:
        [row] = session.execute(select(inbox.OutboxMessage)).scalars().all()
        assert (row.status, row.attempts, row.idempotency_key) == ("pending", 1, "whatsapp:wamid.r1:0")
        row.next_attempt_at = row.created_at  # due again now
    assert asyncio.run(dispatcher.send_due()) == 1
    assert asyncio.run(dispatcher.send_due()) == 0
    assert _texts(sender) == ["reply to hello"]

    refused = RecordingSender([Delivery.REFUSED])
    dispatcher = _dispatcher(url, refused)
    _accept(dispatcher, [[Inbound("wamid.r2", "447700900999", text="hello")]], FakeRasa())
    with make_session_factory(engine).begin() as session:
        statuses = [r.status for r in session.execute(select(inbox.OutboxMessage)).scalars()]
    assert statuses == ["sent", "failed"]


def test_completing_an_entry_twice_queues_its_replies_once(database):
    url, engine = database
    [(entry, _)] = _dispatcher(url)._record([Inbound("wamid.d1", PATIENT, text="hi")])
    requests = [{"recipient": PATIENT, "text": "a"}, {"recipient": PATIENT, "text": "b"}]
    for _ in range(2):
        with make_session_factory(engine).begin() as session:
            inbox.complete_entry(session=session, entry_id=entry.id, replies=[reply("a")], requests=requests)
    with make_session_factory(engine).begin() as session:
        assert len(session.execute(select(inbox.OutboxMessage)).scalars().all()) == 2


def test_button_taps_are_acknowledged_when_accepted(database):
    url, _ = database
    sender = RecordingSender()
    item = Inbound("1:77", "42", text="yes", metadata={"callback_query_id": "cb77"})
    _accept(_dispatcher(url, sender), [[item], [item]], FakeRasa())
    assert sender.delivered[0] == {"recipient": "callback:cb77", "text": "ack"}
    assert _texts(sender) == ["ack", "reply to yes"]


def test_media_is_answered_in_words_and_flagged_for_staff(database):
    url, engine = database
    rasa, sender = FakeRasa(), RecordingSender()
    _accept(_dispatcher(url, sender), [[Inbound("wamid.m1", PATIENT, media="image")]], rasa)
    texts = load_channel_texts()
    assert rasa.received == []
    [sent] = _texts(sender)
    assert sent.startswith(texts.media_reply.split("{")[0]) and "{" not in sent
    with make_session_factory(engine).begin() as session:
        [flag] = session.execute(select(Flag)).scalars().all()
        assert (flag.kind, flag.level, flag.channel) == ("handoff", "handoff", "whatsapp")
        assert (flag.conversation_id, flag.channel_user_id) == (CONVERSATION, PATIENT)
        assert flag.matched_text == "image" and texts.media_name("image") in flag.reason


def test_a_caption_is_read_before_the_media_notice(database):
    url, _ = database
    rasa, sender = FakeRasa(), RecordingSender()
    _accept(
        _dispatcher(url, sender), [[Inbound("wamid.m2", PATIENT, text="I have a fever", media="image")]], rasa
    )
    assert [m.text for m in rasa.received] == ["I have a fever"]
    assert _texts(sender)[0] == "reply to I have a fever" and len(sender.delivered) == 2


def test_repeated_media_keeps_one_open_flag(database):
    url, engine = database
    store = MediaFlagStore(url)
    for _ in range(2):
        store(
            channel="telegram",
            conversation="telegram:42",
            sender_id="42",
            reason="r",
            media="voice",
            message="[voice]",
        )
    with make_session_factory(engine).begin() as session:
        assert len(session.execute(select(Flag)).scalars().all()) == 1


def test_a_long_message_is_cut_for_rasa_with_its_red_flag_first_and_a_polite_note(database):
    url, _ = database
    rasa, sender = FakeRasa(), RecordingSender()
    text = "my skin feels a bit tight today. " * 160 + "Also my lips are swelling and I cannot breathe."
    assert len(text) > 5000
    _accept(_dispatcher(url, sender), [[Inbound("wamid.l1", PATIENT, text=text)]], rasa)
    [message] = rasa.received
    assert len(message.text) <= 4096
    assert message.text.startswith("Also my lips are swelling and I cannot breathe.")
    assert _texts(sender)[-1] == load_channel_texts().too_long_reply


def test_without_a_database_the_message_is_still_answered(tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("")
    sender, rasa = RecordingSender(), FakeRasa()
    dispatcher = _dispatcher(f"sqlite:///{blocked}/aftercare.db", sender)
    _accept(dispatcher, [[Inbound("1:1", "42", text="I have a fever")]], rasa)
    assert [m.text for m in rasa.received] == ["I have a fever"]
    assert _texts(sender) == ["reply to I have a fever"]


def test_the_widget_gets_its_replies_even_after_its_first_request_was_cancelled(database):
    url, engine = database
    rasa = FakeRasa()
    dispatcher = Dispatcher("widget", database_url=url)
    item = Inbound("session-1:msg-00001", "session-1", text="I have a fever")

    async def go():
        rasa.gate = asyncio.Event()
        first = asyncio.ensure_future(dispatcher.answer(item, Assistant(rasa)))
        await asyncio.sleep(0.05)
        first.cancel()  # the browser timed out mid-turn
        with pytest.raises(asyncio.CancelledError):
            await first
        rasa.gate.set()
        return await dispatcher.answer(item, Assistant(rasa))

    again = asyncio.run(go())
    assert [m.text for m in rasa.received] == ["I have a fever"]
    assert again.duplicate and again.replies == [reply("reply to I have a fever", "utter_test")]
    assert [e.status for e in _entries(engine)] == ["done"]


def test_purge_drops_finished_messages_but_keeps_pending_ones(database):
    from datetime import timedelta

    from bot.storage import utcnow

    url, engine = database
    dispatcher = _dispatcher(url)
    _accept(dispatcher, [[Inbound("wamid.old", PATIENT, text="hi")]], FakeRasa())
    dispatcher._record([Inbound("wamid.waiting", "447700900555", text="hi")])
    with make_session_factory(engine).begin() as session:
        assert inbox.purge_channel_messages(session=session, before=utcnow() + timedelta(days=1)) == 1
    assert [e.message_id for e in _entries(engine)] == ["wamid.waiting"]
    with make_session_factory(engine).begin() as session:
        assert session.execute(select(inbox.OutboxMessage)).scalars().all() == []


def test_the_retention_purge_includes_channel_messages(database):
    from datetime import timedelta

    from bot.storage import utcnow
    from bot.storage.retention import purge

    url, engine = database
    _accept(_dispatcher(url), [[Inbound("wamid.p", PATIENT, text="hi")]], FakeRasa())
    with make_session_factory(engine).begin() as session:
        report = purge(session=session, before=utcnow() + timedelta(days=1), dry_run=True)
    assert report.channel_messages == 1 and "channel_messages=1" in report.summary()
    with make_session_factory(engine).begin() as session:
        assert purge(session=session, before=utcnow() + timedelta(days=1)).channel_messages == 1
    assert _entries(engine) == []


def test_a_redelivered_pending_message_is_processed_at_once(database):
    """The process that acknowledged it died; the provider's retry reaches a new process."""
    url, engine = database
    item = Inbound("wamid.pending", PATIENT, text="I have a fever")
    _dispatcher(url)._record([item])
    rasa, sender = FakeRasa(), RecordingSender()
    assert _accept(_dispatcher(url, sender), [[item]], rasa) == [0]
    assert [m.text for m in rasa.received] == ["I have a fever"]
    assert _texts(sender) == ["reply to I have a fever"]
