"""Reading transcripts from Rasa's tracker store table."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.storage.tracker import read_transcript
from tests.storage.rasa_events import action, add_event, bot, create_rasa_events_table, slot, user

T = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc).timestamp()


def test_a_missing_tracker_table_gives_an_unavailable_transcript(session):
    transcript = read_transcript(session=session, conversation_id="conv-1")
    assert not transcript.available and transcript.turns == []


def test_user_and_bot_turns_and_triage_changes_are_read_in_order(engine, session_factory):
    create_rasa_events_table(engine)
    add_event(engine, "conv-1", action("action_session_start", T))
    add_event(engine, "conv-1", user("I have a fever of 39", "report_fever", T + 1))
    add_event(engine, "conv-1", slot("triage_level", "urgent", T + 2))
    add_event(engine, "conv-1", slot("days_since_procedure", 2, T + 2))
    add_event(engine, "conv-1", bot("Please contact your clinic today.", T + 3))
    add_event(engine, "conv-2", user("hello", "greet", T + 4))
    with session_factory.begin() as session:
        transcript = read_transcript(session=session, conversation_id="conv-1")
    assert transcript.available
    assert [(turn.kind, turn.text or turn.level) for turn in transcript.turns] == [
        ("user", "I have a fever of 39"),
        ("triage", "urgent"),
        ("bot", "Please contact your clinic today."),
    ]
    assert transcript.turns[0].intent == "report_fever"
    assert transcript.turns[0].at == datetime(2024, 5, 1, 9, 0, 1, tzinfo=timezone.utc)
    assert [turn.level for turn in transcript.triage_history] == ["urgent"]
