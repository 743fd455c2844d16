"""A bare STOP / START is answered by the channel worker before the classifier, on every channel.

The connectors are the real WhatsApp, Telegram and Twilio classes pointed at the local provider
fakes, and the widget's dispatcher; Rasa is stood in for by the dispatch tests' ``FakeRasa``, which
records what reached the turn (a bare keyword must not). The database is a real SQLite file.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select

from bot.channels.dispatch import Assistant, Dispatcher, Inbound
from bot.checkins.optout import Command, command_in, confirmations
from bot.storage import inbox, make_session_factory
from bot.storage.checkins import ContactPreference
from tests.channels.fake_providers import sent_to
from tests.channels.test_dispatch import FakeRasa
from tests.channels.test_outbound import PATIENTS, connector

OPTED_OUT, _ = confirmations()[Command.STOP]
OPTED_IN, _ = confirmations()[Command.START]


def _preference(engine: Any, conversation: str) -> Any:
    with make_session_factory(engine).begin() as session:
        return session.execute(
            select(ContactPreference).where(ContactPreference.conversation_id == conversation)
        ).scalar_one_or_none()


def _accept(dispatcher: Dispatcher, rasa: FakeRasa, *items: Inbound) -> None:
    async def go() -> None:
        for item in items:
            await dispatcher.accept([item], Assistant(rasa))
            await dispatcher.drain()
        await dispatcher.send_due()

    asyncio.run(go())


@pytest.mark.parametrize(
    ("text", "command"),
    [
        ("STOP", Command.STOP),
        ("stop", Command.STOP),
        ("Unsubscribe", Command.STOP),
        ("stop messages", Command.STOP),
        ("STOP ALL", Command.STOP),
        (" Stop. ", Command.STOP),
        ("START", Command.START),
        ("unstop", Command.START),
        ("stop, my face is swelling", None),
        ("when will the peeling stop", None),
        ("", None),
    ],
)
def test_only_a_whole_message_that_is_a_listed_phrase_counts(text: str, command: Any) -> None:
    assert command_in(text) is command


@pytest.mark.parametrize("channel", ["whatsapp", "telegram", "twilio"])
def test_a_bare_stop_opts_out_at_once_confirmed_once_without_a_turn(channel, fake, engine) -> None:
    url = str(engine.url)
    patient = PATIENTS[channel]
    conversation = f"{channel}:{patient}"
    rasa = FakeRasa()
    stop = Inbound(f"{channel}-stop-1", patient, text="STOP")
    # Delivered twice by the provider, and the worker started again on the same database.
    _accept(connector(channel, fake, url).dispatcher, rasa, stop, stop)
    _accept(connector(channel, fake, url).dispatcher, rasa, stop)

    assert rasa.received == []  # the classifier never saw it
    assert sent_to(fake, channel, patient).count(OPTED_OUT) == 1
    preference = _preference(engine, conversation)
    assert (preference.opted_out, preference.changed_by) == (True, "patient")
    assert preference.changed_at is not None

    _accept(
        connector(channel, fake, url).dispatcher, rasa, Inbound(f"{channel}-start-1", patient, text="start")
    )
    assert rasa.received == []
    assert sent_to(fake, channel, patient).count(OPTED_IN) == 1
    assert _preference(engine, conversation).opted_out is False


def test_a_stop_with_more_in_it_goes_through_the_turn(fake, engine) -> None:
    url = str(engine.url)
    rasa = FakeRasa()
    patient = "+447700900654"
    _accept(
        connector("twilio", fake, url).dispatcher,
        rasa,
        Inbound("SMx1", patient, text="stop, my face is swelling"),
    )
    assert [message.text for message in rasa.received] == ["stop, my face is swelling"]
    assert _preference(engine, f"twilio:{patient}") is None


def test_the_same_row_handed_over_twice_is_recorded_and_confirmed_once(fake, engine) -> None:
    url = str(engine.url)
    patient = "447700900321"  # not the number the other tests use with this module's fake
    dispatcher = connector("whatsapp", fake, url).dispatcher
    [(entry, _)] = dispatcher._record([Inbound("wamid.twice", patient, text="stop")])

    async def twice() -> None:
        for _ in range(2):  # the same pending entry, as two replays read it
            assert await dispatcher._process_entry(entry, Assistant(FakeRasa()))
        await dispatcher.send_due()

    asyncio.run(twice())
    assert sent_to(fake, "whatsapp", patient).count(OPTED_OUT) == 1
    with make_session_factory(engine).begin() as session:
        rows = session.execute(select(inbox.OutboxMessage)).scalars().all()
    assert len(rows) == 1


def test_the_widget_gets_the_confirmation_as_the_answer(engine) -> None:
    url = str(engine.url)
    dispatcher = Dispatcher("widget", database_url=url)
    rasa = FakeRasa()
    answer = asyncio.run(
        dispatcher.answer(Inbound("w-1", "widget-session-1", text="Stop messages"), Assistant(rasa))
    )
    again = asyncio.run(
        dispatcher.answer(Inbound("w-1", "widget-session-1", text="Stop messages"), Assistant(rasa))
    )
    assert [r["text"] for r in answer.replies] == [OPTED_OUT]
    assert [r["utter_action"] for r in answer.replies] == ["utter_checkin_opted_out"]
    assert again.duplicate and again.replies == answer.replies
    assert rasa.received == []
    assert _preference(engine, "widget:widget-session-1").opted_out is True
