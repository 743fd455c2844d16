"""The SafetyPolicy during a takeover: silent for ordinary questions, the safety net still on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource

from bot.rasa_components.safety_policy import SafetyPolicy
from bot.reconciler import OwedFlagRecorder
from bot.storage.owed_journal import journal_path
from bot.storage.takeover import TakeoverReader
from bot.storage.takeover_flow import hand_back, start_takeover
from tests.safety.test_safety_policy import DAY0, Conversation

SENDER = "telegram:5550001"


@pytest.fixture()
def policy(tmp_path, session_factory, database, monkeypatch):
    recorder = OwedFlagRecorder(lambda: session_factory, journal_path(tmp_path))
    monkeypatch.setattr(SafetyPolicy, "recorder_provider", staticmethod(lambda: recorder))
    reader = TakeoverReader(database, timedelta(minutes=30))
    monkeypatch.setattr(SafetyPolicy, "takeover_check", staticmethod(reader))
    context = ExecutionContext(GraphSchema({}), "test")
    storage = LocalModelStorage(tmp_path / "model")
    return SafetyPolicy.create(SafetyPolicy.get_default_config(), storage, Resource("safety"), context)


def test_during_a_takeover_only_red_flags_are_answered_and_hand_back_resumes(policy, session_factory):
    chat = Conversation(policy, sender=SENDER)
    chat.say("hello", "greet", DAY0, reply=["utter_greet"])
    with session_factory.begin() as session:
        start_takeover(session=session, conversation_id=SENDER, staff="nurse")

    assert chat.say("can I wear makeup?", "ask_makeup", DAY0 + timedelta(minutes=1)) == ["action_listen"]
    red_flag = chat.say("I have a fever of 39", "report_fever", DAY0 + timedelta(minutes=2))
    assert red_flag == ["utter_escalate_urgent", "action_record_flag", "action_listen"]

    with session_factory.begin() as session:
        hand_back(session=session, conversation_id=SENDER, staff="nurse")
    answered = chat.say("can I wear makeup?", "ask_makeup", DAY0 + timedelta(minutes=3), reply=["utter_x"])
    assert answered[0] != "action_listen"
