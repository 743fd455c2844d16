"""Takeovers in the database: one holder at a time, notices once, idle timeout, staff replies."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import List

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from bot.storage import outbound, utcnow
from bot.storage.takeover import Takeover, TakeoverReader, active_takeover, take_over
from bot.storage.takeover_flow import (
    TAKEOVER_ENDED,
    TAKEOVER_STARTED,
    HeldByOtherError,
    expire_idle,
    hand_back,
    notice_text,
    staff_reply,
    start_takeover,
)

CONVERSATION = "whatsapp:447700900123"
IDLE = timedelta(minutes=30)


def notices(factory) -> List[str]:
    with factory.begin() as session:
        rows = outbound.for_conversation(session=session, conversation_id=CONVERSATION)
        return [row.text for row in rows if row.kind == outbound.KIND_NOTICE]


def test_the_second_member_of_staff_is_told_who_holds_the_conversation(session_factory):
    with session_factory.begin() as session:
        first = start_takeover(session=session, conversation_id=CONVERSATION, staff="nurse")
    with session_factory.begin() as session:
        second = start_takeover(session=session, conversation_id=CONVERSATION, staff="doctor")
        again = start_takeover(session=session, conversation_id=CONVERSATION, staff="nurse")
    assert (first.taken, first.new) == (True, True)
    assert (second.taken, second.takeover.staff) == (False, "nurse")
    assert (again.taken, again.new) == (True, False)
    assert notices(session_factory) == [notice_text(TAKEOVER_STARTED, staff_name="nurse")]


def test_the_database_refuses_a_second_open_takeover_whatever_the_code_checked(session_factory):
    with session_factory.begin() as session:
        session.add(Takeover(conversation_id=CONVERSATION, staff="nurse"))
    with pytest.raises(IntegrityError), session_factory.begin() as session:
        session.add(Takeover(conversation_id=CONVERSATION, staff="doctor"))


def test_staff_racing_to_take_over_get_one_winner(session_factory):
    results = []
    barrier = threading.Barrier(4)

    def click(name: str) -> None:
        barrier.wait()
        with session_factory.begin() as session:
            result = take_over(session=session, conversation_id=CONVERSATION, staff=name, idle_timeout=IDLE)
            results.append((name, result.taken, result.takeover.staff))

    threads = [threading.Thread(target=click, args=(f"staff{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = {holder for _, _, holder in results}
    assert len(winners) == 1 and sum(taken for _, taken, _ in results) == 1


def test_hand_back_tells_the_patient_once_and_frees_the_conversation(session_factory):
    with session_factory.begin() as session:
        start_takeover(session=session, conversation_id=CONVERSATION, staff="nurse")
    with session_factory.begin() as session:
        assert hand_back(session=session, conversation_id=CONVERSATION, staff="doctor") is not None
        assert hand_back(session=session, conversation_id=CONVERSATION, staff="doctor") is None
    with session_factory.begin() as session:
        assert start_takeover(session=session, conversation_id=CONVERSATION, staff="doctor").taken
    assert notices(session_factory)[1] == notice_text(TAKEOVER_ENDED)
    assert len(notices(session_factory)) == 3


def test_an_idle_takeover_stops_silencing_the_assistant_and_is_ended_once(session_factory, database):
    long_ago = utcnow() - timedelta(hours=2)
    with session_factory.begin() as session:
        start_takeover(session=session, conversation_id=CONVERSATION, staff="nurse", now=long_ago)
    assert TakeoverReader(database, IDLE)(CONVERSATION) is False
    assert TakeoverReader(database, timedelta(hours=3))(CONVERSATION) is True
    with session_factory.begin() as session:
        assert len(expire_idle(session=session, channel="whatsapp", timeout=IDLE)) == 1
    with session_factory.begin() as session:
        assert expire_idle(session=session, channel="whatsapp", timeout=IDLE) == []
        assert active_takeover(session=session, conversation_id=CONVERSATION, idle_timeout=IDLE) is None
    assert notices(session_factory)[-1] == notice_text(TAKEOVER_ENDED)


def test_staff_replies_keep_the_takeover_alive_and_a_colleague_cannot_reply_meanwhile(session_factory):
    start = utcnow() - timedelta(minutes=25)
    with session_factory.begin() as session:
        start_takeover(session=session, conversation_id=CONVERSATION, staff="nurse", now=start)
        staff_reply(session=session, conversation_id=CONVERSATION, staff="nurse", text="Hi", key="r1")
    with session_factory.begin() as session:
        with pytest.raises(HeldByOtherError) as refused:
            staff_reply(session=session, conversation_id=CONVERSATION, staff="doctor", text="Hey", key="r2")
        assert refused.value.holder == "nurse"
        found = session.execute(select(Takeover)).scalars().one()
        assert found.last_activity_at > start + timedelta(minutes=20)


def test_a_reader_on_a_broken_database_lets_the_assistant_answer(tmp_path):
    assert TakeoverReader(f"sqlite:///{tmp_path / 'missing' / 'none.db'}", IDLE)(CONVERSATION) is False
