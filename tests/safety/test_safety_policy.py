"""The SafetyPolicy as Rasa runs it: one verdict per turn, the treatment date, owed flags.

In-process, with the real domain and real trackers; the message timestamps are the clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import select

from bot.rasa_components.safety_policy import SafetyPolicy
from bot.reconciler import OwedFlagRecorder
from bot.settings import PROJECT_ROOT
from bot.storage.owed_flags import OwedFlag
from bot.storage.owed_journal import journal_path

DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))
DAY0 = datetime(2026, 11, 21, 10, 0)  # local time, a Saturday


@pytest.fixture()
def policy(tmp_path, session_factory, monkeypatch):
    recorder = OwedFlagRecorder(lambda: session_factory, journal_path(tmp_path))
    monkeypatch.setattr(SafetyPolicy, "recorder_provider", staticmethod(lambda: recorder))
    storage = LocalModelStorage(tmp_path / "model")
    context = ExecutionContext(GraphSchema({}), "test")
    return SafetyPolicy.create(SafetyPolicy.get_default_config(), storage, Resource("safety"), context)


class Conversation:
    """A tracker driven turn by turn: the policy's prediction events applied, as Rasa does."""

    def __init__(self, policy: SafetyPolicy, sender: str = "p-1") -> None:
        self.policy = policy
        self.tracker = DialogueStateTracker.from_events(
            sender, [ActionExecuted("action_listen")], DOMAIN.slots
        )
        self.count = 0

    def say(
        self,
        text: str,
        intent: str,
        at: datetime,
        reply: Optional[List[str]] = None,
        ranking: Optional[List[Dict[str, Any]]] = None,
    ) -> List[str]:
        """Add the user message and let the policy run the turn; return the actions it chose."""
        self.count += 1
        top = {"name": intent, "confidence": 0.9}
        self.tracker.update(
            UserUttered(
                text,
                top,
                parse_data={"text": text, "intent": top, "entities": [], "intent_ranking": ranking or [top]},
                timestamp=at.timestamp(),
                message_id=f"m{self.count}",
            ),
            DOMAIN,
        )
        chosen: List[str] = []
        for _ in range(6):
            prediction = self.policy.predict_action_probabilities(self.tracker, DOMAIN)
            action = self._best(prediction.probabilities) or (reply.pop(0) if reply else "action_listen")
            self.tracker.update_with_events(list(prediction.events), DOMAIN)
            self.tracker.update(ActionExecuted(action), DOMAIN)
            if action.startswith("utter_"):
                self.tracker.update(BotUttered("...", metadata={"utter_action": action}), DOMAIN)
            self.tracker.update_with_events(list(prediction.optional_events), DOMAIN)
            chosen.append(action)
            if action == "action_listen":
                break
        return chosen

    @staticmethod
    def _best(probabilities: List[float]) -> Optional[str]:
        best = max(range(len(probabilities)), key=probabilities.__getitem__)
        return DOMAIN.action_names_or_texts[best] if probabilities[best] == 1.0 else None

    def slot(self, name: str) -> Any:
        return self.tracker.get_slot(name)


def _owed_rows(session_factory) -> List[Dict[str, Any]]:
    with session_factory.begin() as session:
        return [
            {"turn_key": r.turn_key, "level": r.level, "conversation_id": r.conversation_id}
            for r in session.execute(select(OwedFlag)).scalars()
        ]


def test_a_routine_escalation_from_a_remembered_day_is_judged_with_that_day(policy, session_factory):
    chat = Conversation(policy)
    chat.say("I was treated 20 days ago", "inform", DAY0, reply=["action_acknowledge_details"])
    assert chat.slot("treatment_date") == "2026-11-01"
    actions = chat.say("still peeling", "ask_peeling", DAY0 + timedelta(minutes=5))
    assert actions[:2] == ["utter_escalate_routine", "action_record_flag"]
    verdict = chat.slot("triage_verdict")
    assert (verdict["level"], verdict["turn_key"], verdict["days_since_procedure"]) == (
        "routine",
        "id:m2",
        20,
    )
    assert chat.slot("days_since_procedure") == 20.0
    assert chat.slot("triage_level") == "routine"
    assert _owed_rows(session_factory) == [
        {"turn_key": "id:m2", "level": "routine", "conversation_id": "p-1"}
    ]


def test_fever_since_yesterday_does_not_move_the_treatment_date(policy):
    chat = Conversation(policy)
    chat.say("I had microneedling 10 days ago", "inform", DAY0, reply=["action_acknowledge_details"])
    chat.say("I've had a fever since yesterday", "report_fever", DAY0 + timedelta(hours=1))
    assert chat.slot("treatment_date") == "2026-11-11"
    assert chat.slot("days_since_procedure") == 10.0


def test_days_advance_with_the_calendar(policy):
    chat = Conversation(policy)
    chat.say("I had a dermapen 3 days ago", "inform", DAY0, reply=["action_acknowledge_details"])
    assert chat.slot("days_since_procedure") == 3.0
    chat.say("can I wear makeup?", "ask_makeup", DAY0 + timedelta(days=4), reply=["action_answer_question"])
    assert chat.slot("treatment_date") == "2026-11-18"
    assert chat.slot("days_since_procedure") == 7.0


def test_a_patient_corrects_the_treatment_date(policy):
    chat = Conversation(policy)
    chat.say("the treatment was 3 days ago", "inform", DAY0, reply=["action_acknowledge_details"])
    chat.say(
        "sorry, it was 5 days ago, not 3",
        "inform",
        DAY0 + timedelta(minutes=1),
        reply=["action_acknowledge_details"],
    )
    assert chat.slot("treatment_date") == "2026-11-16"
    assert chat.slot("days_since_procedure") == 5.0


def test_a_bare_date_answering_the_question_sets_the_treatment_date(policy):
    chat = Conversation(policy)
    chat.say("I had a dermapen", "inform", DAY0, reply=["action_acknowledge_details"])
    chat.tracker.update(BotUttered("...", metadata={"utter_action": "utter_ask_days_since"}), DOMAIN)
    chat.say(
        "it was on the 14th I think",
        "nlu_fallback",
        DAY0 + timedelta(minutes=1),
        reply=["utter_ask_rephrase"],
    )
    assert chat.slot("treatment_date") == "2026-11-14"


def test_one_owed_flag_per_escalated_message_and_none_without_escalation(policy, session_factory):
    chat = Conversation(policy)
    chat.say("can I wear makeup?", "ask_makeup", DAY0, reply=["action_answer_question"])
    chat.say("I have a fever", "report_fever", DAY0 + timedelta(minutes=1))
    chat.say(
        "my lips are swelling and I can't breathe", "report_allergic_reaction", DAY0 + timedelta(minutes=2)
    )
    assert [(r["turn_key"], r["level"]) for r in _owed_rows(session_factory)] == [
        ("id:m2", "urgent"),
        ("id:m3", "emergency"),
    ]
    assert chat.slot("triage_level") == "emergency"


def test_the_verdict_is_judged_once_per_turn(policy, monkeypatch):
    chat = Conversation(policy)
    calls = []
    import bot.rasa_components.safety_policy as module

    original = module.judge_turn
    monkeypatch.setattr(module, "judge_turn", lambda facts: calls.append(facts.turn_key) or original(facts))
    chat.say("I have a fever", "report_fever", DAY0)
    assert calls == ["id:m1"]


def test_an_unwritable_database_and_journal_never_stop_the_escalation(tmp_path, monkeypatch, policy):
    class Broken:
        def begin(self):
            raise RuntimeError("database down")

    recorder = OwedFlagRecorder(lambda: Broken(), tmp_path / "not-a-dir" / "x", sleep=lambda s: None)
    (tmp_path / "not-a-dir").write_text("a file where a directory should be")
    monkeypatch.setattr(SafetyPolicy, "recorder_provider", staticmethod(lambda: recorder))
    chat = Conversation(policy)
    assert chat.say("I have a fever", "report_fever", DAY0)[0] == "utter_escalate_urgent"


def test_slot_events_name_only_domain_slots(policy):
    chat = Conversation(policy)
    chat.say("I was treated 20 days ago, still peeling", "ask_peeling", DAY0)
    names = {slot.name for slot in DOMAIN.slots}
    events = [e for e in chat.tracker.events if isinstance(e, SlotSet)]
    assert events and all(e.key in names for e in events)


def test_a_day_count_from_before_the_treatment_date_slot_is_dated_when_it_was_said(policy):
    chat = Conversation(policy)
    chat.tracker.update(SlotSet("days_since_procedure", 4.0, timestamp=DAY0.timestamp()), DOMAIN)
    chat.say("can I wear makeup?", "ask_makeup", DAY0 + timedelta(days=2), reply=["action_answer_question"])
    assert chat.slot("treatment_date") == "2026-11-17"
    assert chat.slot("days_since_procedure") == 6.0


def test_the_safety_questions_are_never_asked_twice_in_a_row(policy):
    conversation = Conversation(policy)
    first = conversation.say("something is wrong with my skin since the session", "nlu_fallback", DAY0)
    assert first[0] == "utter_ask_safety_questions"
    assert conversation.slot("triage_verdict")["clarify"] == "clarify.something_wrong"
    second = conversation.say(
        "it just looks weird, I can't describe it", "nlu_fallback", DAY0 + timedelta(minutes=1)
    )
    assert "utter_ask_safety_questions" not in second
    assert conversation.slot("triage_verdict")["clarify"] is None
    # after an ordinary reply, a new unclear message is asked about again
    conversation.say("thanks", "thank", DAY0 + timedelta(minutes=2), reply=["utter_you_are_welcome"])
    third = conversation.say("my face looks odd today", "nlu_fallback", DAY0 + timedelta(minutes=3))
    assert third[0] == "utter_ask_safety_questions"


def test_a_red_flag_answering_the_safety_questions_is_escalated(policy):
    conversation = Conversation(policy)
    conversation.say("something is wrong with my skin since the session", "nlu_fallback", DAY0)
    actions = conversation.say("I have a fever or chills", "report_fever", DAY0 + timedelta(minutes=1))
    assert actions[:2] == ["utter_escalate_urgent", "action_record_flag"]


@pytest.mark.parametrize(
    ("text", "intent", "ranking", "first", "also"),
    [
        # a question next to a red flag, classified as the red flag: the question is answered after
        (
            "when can I wear makeup again? also my lips have swollen up since this morning",
            "report_allergic_reaction",
            [
                {"name": "report_allergic_reaction", "confidence": 0.6},
                {"name": "ask_makeup", "confidence": 0.3},
            ],
            "utter_escalate_emergency",
            "ask_makeup",
        ),
        # an ordinary topic reported next to a red flag: the topic is answered after
        (
            "flaking everywhere and it stings badly when I wash",
            "report_pain",
            [{"name": "report_pain", "confidence": 0.8}, {"name": "ask_peeling", "confidence": 0.1}],
            "utter_escalate_urgent",
            "ask_peeling",
        ),
        # a question the classifier barely considered is not invented
        (
            "my face is really sore, what a week?",
            "report_pain",
            [{"name": "report_pain", "confidence": 0.95}, {"name": "ask_sun", "confidence": 0.02}],
            "utter_escalate_urgent",
            None,
        ),
        # an emergency with an ordinary topic: only the emergency
        (
            "my skin is peeling and my lips are swelling",
            "report_allergic_reaction",
            [{"name": "report_allergic_reaction", "confidence": 0.9}],
            "utter_escalate_emergency",
            None,
        ),
        # the question is the top intent: the action answers it anyway, nothing extra to choose
        (
            "can I use moisturiser? my face hurts",
            "ask_skincare",
            [{"name": "ask_skincare", "confidence": 0.7}],
            "utter_escalate_urgent",
            None,
        ),
    ],
)
def test_mixed_messages_get_the_escalation_and_the_other_answer(policy, text, intent, ranking, first, also):
    conversation = Conversation(policy)
    actions = conversation.say(text, intent, DAY0, ranking=ranking)
    assert actions[:2] == [first, "action_record_flag"]
    assert conversation.slot("triage_verdict")["also_answer"] == also
