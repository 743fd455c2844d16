"""Custom actions against a real SQLite database and the shipped knowledge base."""

from __future__ import annotations

import asyncio

from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions import (
    ActionAcknowledgeDetails,
    ActionAnswerQuestion,
    ActionFlagFallback,
    ActionRecordFlag,
    ActionRequestHuman,
)
from bot.storage.models import Flag


def _run(action, dispatcher, tracker):
    return asyncio.run(action.run(dispatcher, tracker, {}))


def _responses(dispatcher):
    return [m["response"] for m in dispatcher.messages]


def _flags(session_factory):
    with session_factory.begin() as session:
        return [
            (f.kind, f.level, f.conversation_id, f.channel) for f in session.execute(select(Flag)).scalars()
        ]


def test_answer_peel_off_from_knowledge(kb, clinic, make_tracker, dispatcher):
    events = _run(
        ActionAnswerQuestion(kb, clinic),
        dispatcher,
        make_tracker("can I peel the flakes off?", "ask_peel_off"),
    )
    assert _responses(dispatcher) == ["utter_kb_answer", "utter_offer_more"]
    answer = dispatcher.messages[0]["answer"]
    assert answer == kb.answer("ask_peel_off", clinic=clinic).text
    assert dispatcher.messages[0]["source"]
    assert events == [{"event": "slot", "timestamp": None, "name": "last_topic", "value": "ask_peel_off"}]


def test_day_aware_answer_uses_days_since(kb, clinic, make_tracker, dispatcher):
    tracker = make_tracker("is the peeling normal?", "ask_peeling", slots={"days_since_procedure": 25.0})
    _run(ActionAnswerQuestion(kb, clinic), dispatcher, tracker)
    assert dispatcher.messages[0]["answer"] == kb.answer("ask_peeling", days_since=25, clinic=clinic).text
    assert dispatcher.messages[0]["answer"] != kb.answer("ask_peeling", days_since=3, clinic=clinic).text


def test_negated_red_flag_intent_does_not_frighten(kb, clinic, make_tracker, dispatcher):
    _run(ActionAnswerQuestion(kb, clinic), dispatcher, make_tracker("no fever, just peeling", "report_fever"))
    responses = _responses(dispatcher)
    assert responses[0] == "utter_symptom_not_reported"
    assert not any(r.startswith("utter_escalate") for r in responses)


def test_record_flag_writes_one_flag_and_explains(
    kb, clinic, make_tracker, dispatcher, write_flag, session_factory
):
    tracker = make_tracker("I have a fever of 38.6", "report_fever", sender="p-fever", channel="telegram")
    _run(ActionRecordFlag(write_flag, kb, clinic), dispatcher, tracker)
    _run(ActionRecordFlag(write_flag, kb, clinic), CollectingDispatcher(), tracker)
    assert _flags(session_factory) == [("triage", "urgent", "p-fever", "telegram")]
    assert _responses(dispatcher)[:2] == ["utter_flag_recorded", "utter_flag_detail"]


def test_record_flag_raises_level_when_it_gets_worse(kb, clinic, make_tracker, write_flag, session_factory):
    _run(
        ActionRecordFlag(write_flag, kb, clinic),
        CollectingDispatcher(),
        make_tracker("it hurts", "report_pain"),
    )
    _run(
        ActionRecordFlag(write_flag, kb, clinic),
        CollectingDispatcher(),
        make_tracker("now my lips are swelling and I can't breathe", "report_allergic_reaction"),
    )
    assert _flags(session_factory) == [("triage", "emergency", "patient-1", "rest")]


def test_record_flag_also_answers_the_question_in_the_message(
    kb, clinic, make_tracker, dispatcher, write_flag
):
    tracker = make_tracker("can I wear makeup? my cheeks are throbbing", "ask_makeup")
    _run(ActionRecordFlag(write_flag, kb, clinic), dispatcher, tracker)
    assert "utter_kb_answer" in _responses(dispatcher)


def test_database_failure_still_answers(kb, clinic, make_tracker, dispatcher):
    def broken(**flag):
        raise OSError("disk full")

    _run(ActionRecordFlag(broken, kb, clinic), dispatcher, make_tracker("I have a fever", "report_fever"))
    assert "utter_flag_recorded" not in _responses(dispatcher)
    assert "utter_flag_detail" in _responses(dispatcher)


def test_request_human_flags_handoff(make_tracker, dispatcher, write_flag, session_factory):
    _run(
        ActionRequestHuman(write_flag), dispatcher, make_tracker("can a nurse call me back?", "request_human")
    )
    assert _responses(dispatcher) == ["utter_handoff"]
    assert _flags(session_factory) == [("handoff", "handoff", "patient-1", "rest")]


def test_request_human_with_broken_database_says_so(make_tracker, dispatcher):
    def broken(**flag):
        raise RuntimeError("database is down")

    _run(ActionRequestHuman(broken), dispatcher, make_tracker("I want to talk to a person", "request_human"))
    assert _responses(dispatcher) == ["utter_handoff_failed"]


def test_fallback_flag(make_tracker, dispatcher, write_flag, session_factory):
    _run(ActionFlagFallback(write_flag), dispatcher, make_tracker("blorp zzz", "nlu_fallback"))
    assert _responses(dispatcher) == ["utter_fallback_flagged"]
    assert _flags(session_factory) == [("fallback", "fallback", "patient-1", "rest")]


def test_inform_reanswers_pending_question(kb, clinic, make_tracker, dispatcher):
    tracker = make_tracker(
        "it was 3 weeks ago", "inform", slots={"days_since_procedure": 21.0, "last_topic": "ask_peeling"}
    )
    _run(ActionAcknowledgeDetails(kb, clinic), dispatcher, tracker)
    assert _responses(dispatcher)[:2] == ["utter_details_noted", "utter_kb_answer"]
    assert dispatcher.messages[1]["answer"] == kb.answer("ask_peeling", days_since=21, clinic=clinic).text


def test_inform_without_days_asks_for_them(kb, clinic, make_tracker, dispatcher):
    _run(ActionAcknowledgeDetails(kb, clinic), dispatcher, make_tracker("I had a dermapen", "inform"))
    assert _responses(dispatcher) == ["utter_ask_days_since"]


def test_routine_escalation_from_a_remembered_day_stores_a_flag(
    kb, clinic, make_tracker, write_flag, session_factory
):
    # Failed before the policy's verdict was the one read: the annotator judged without the day.
    tracker = make_tracker("still peeling", "ask_peeling", slots={"days_since_procedure": 20.0})
    dispatcher = CollectingDispatcher()
    _run(ActionRecordFlag(write_flag, kb, clinic), dispatcher, tracker)
    assert _flags(session_factory) == [("triage", "routine", "patient-1", "rest")]
    assert _responses(dispatcher)[0] == "utter_flag_recorded"


def test_a_redelivered_message_does_not_double_the_flag_or_its_alerts(
    kb, clinic, make_tracker, write_flag, session_factory
):
    from bot.storage.models import AlertOutbox

    first = make_tracker("I have a fever", "report_fever", message_id="wamid-1")
    again = make_tracker("I have a fever", "report_fever", message_id="wamid-1")
    for tracker in (first, again):
        _run(ActionRecordFlag(write_flag, kb, clinic), CollectingDispatcher(), tracker)
    with session_factory.begin() as session:
        alerts = list(session.execute(select(AlertOutbox)).scalars())
    assert _flags(session_factory) == [("triage", "urgent", "patient-1", "rest")]
    assert len(alerts) == 2


def test_without_the_policys_verdict_the_action_judges_nothing_itself(
    kb, clinic, make_tracker, write_flag, session_factory
):
    tracker = make_tracker("I have a fever", "report_fever", verdict=False)
    _run(ActionRecordFlag(write_flag, kb, clinic), CollectingDispatcher(), tracker)
    assert _flags(session_factory) == []
