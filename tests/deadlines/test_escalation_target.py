"""The escalation reply states the target the deadline worker will count, in and out of hours.

In-process: the real domain, Rasa's own response generator and the SafetyPolicy with its
message clock injected (a Wednesday 10:00 and 21:00 in London).
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.knowledge.clinic import SHIPPED_EXAMPLE, ClinicSettings, load_clinic_file
from bot.knowledge.deadline_policy import describe, target_values
from bot.names import CLINIC_OPEN, CLINIC_SLOTS
from bot.rasa_components import safety_policy
from bot.rasa_components.safety_policy import SafetyPolicy
from bot.settings import PROJECT_ROOT

DOMAIN = Domain.load(str(PROJECT_ROOT / "domain.yml"))
# Wednesday 1 May 2024 in London (BST, UTC+1): 10:00 open, 21:00 closed.
IN_HOURS = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
OUT_OF_HOURS = datetime(2024, 5, 1, 20, 0, tzinfo=timezone.utc)
OUT_OF_HOURS_ROUTE = "Tonight, call the on-call nurse on +44 20 7946 0555."


def _clinic(tmp_path: Path) -> ClinicSettings:
    """The example clinic with targets that differ out of hours and its own out-of-hours route."""
    data = yaml.safe_load(SHIPPED_EXAMPLE.read_text(encoding="utf-8"))
    data["out_of_hours"] = OUT_OF_HOURS_ROUTE
    data["deadlines"]["targets"]["urgent"] = {"target": "30m", "out_of_hours": "2h"}
    data["deadlines"]["targets"]["emergency"] = {"target": "5m", "out_of_hours": "15m"}
    path = tmp_path / "clinic.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_clinic_file(path)


def test_the_stated_target_is_the_one_the_worker_counts(tmp_path: Path) -> None:
    policy = _clinic(tmp_path).deadlines
    for moment in (IN_HOURS, OUT_OF_HOURS):
        values = target_values(policy, moment)
        for level in ("emergency", "urgent"):
            counted = policy.targets[level].due(policy.hours, moment) - moment
            assert values[f"response_target_{level}"] == describe(counted)
    assert target_values(policy, IN_HOURS)["response_target_urgent"] == "30 minutes"
    assert target_values(policy, OUT_OF_HOURS)["response_target_urgent"] == "2 hours"
    assert target_values(policy, OUT_OF_HOURS)["response_target_emergency"] == "15 minutes"
    # Counted in opening time whenever it is raised: the same words day and night.
    assert target_values(policy, OUT_OF_HOURS)["response_target_routine"] == "8 hours"


@pytest.fixture()
def policy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SafetyPolicy:
    clinic = _clinic(tmp_path)
    monkeypatch.setattr(safety_policy, "_clinic", lambda: clinic)
    monkeypatch.setattr(SafetyPolicy, "recorder_provider", staticmethod(lambda: _NoRecorder()))
    storage = LocalModelStorage(tmp_path / "model")
    context = ExecutionContext(GraphSchema({}), "test")
    return SafetyPolicy.create(SafetyPolicy.get_default_config(), storage, Resource("safety"), context)


class _NoRecorder:
    def record(self, details: Any) -> None:
        """Owed flags are not what this test is about."""


def _escalation_reply(policy: SafetyPolicy, at: datetime, monkeypatch: pytest.MonkeyPatch) -> Dict[str, Any]:
    """Send "I have a fever" with the policy's clock at ``at``; return the reply Rasa renders."""
    monkeypatch.setattr(policy, "moment", lambda timestamp: at)
    tracker = DialogueStateTracker.from_events("p-1", [ActionExecuted("action_listen")], DOMAIN.slots)
    top = {"name": "report_fever", "confidence": 0.9}
    parse_data = {"text": "I have a fever", "intent": top, "entities": []}
    tracker.update(UserUttered("I have a fever", top, parse_data=parse_data), DOMAIN)
    prediction = policy.predict_action_probabilities(tracker, DOMAIN)
    best = max(range(len(prediction.probabilities)), key=prediction.probabilities.__getitem__)
    assert DOMAIN.action_names_or_texts[best] == "utter_escalate_urgent"
    tracker.update_with_events(list(prediction.events), DOMAIN)
    generator = TemplatedNaturalLanguageGenerator(DOMAIN.responses)
    reply = asyncio.run(generator.generate("utter_escalate_urgent", tracker, "rest"))
    assert reply is not None
    return {"text": reply["text"], "slots": tracker.current_slot_values()}


def test_in_opening_hours_the_reply_states_the_in_hours_target(policy, monkeypatch) -> None:
    reply = _escalation_reply(policy, IN_HOURS, monkeypatch)
    assert reply["slots"]["response_target_urgent"] == "30 minutes"
    assert reply["slots"]["clinic_open"] is True
    assert "within 30 minutes during opening hours" in reply["text"]
    assert OUT_OF_HOURS_ROUTE not in reply["text"]


def test_out_of_hours_the_reply_states_the_on_call_target_and_the_clinics_route(policy, monkeypatch) -> None:
    reply = _escalation_reply(policy, OUT_OF_HOURS, monkeypatch)
    assert reply["slots"]["response_target_urgent"] == "2 hours"
    assert reply["slots"]["clinic_open"] is False
    text: str = reply["text"]
    assert "within 2 hours" in text and "during opening hours" not in text
    assert OUT_OF_HOURS_ROUTE in text
    assert "{" not in text


def test_the_same_conversation_follows_the_clock_turn_by_turn(policy, monkeypatch) -> None:
    texts: List[str] = [
        _escalation_reply(policy, at, monkeypatch)["text"]
        for at in (IN_HOURS, OUT_OF_HOURS, IN_HOURS + timedelta(days=1))
    ]
    assert texts[0] == texts[2] != texts[1]


def test_every_variant_of_an_escalation_needs_no_action_server() -> None:
    """Every variant uses clinic slots with safe defaults: a broken clinic file still escalates."""
    raw = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    variants = raw["responses"]["utter_escalate_urgent"]
    assert len(variants) == 2
    for variant in variants:
        for slot in re.findall(r"{(\w+)}", variant["text"]):
            assert slot in CLINIC_SLOTS and raw["slots"][slot].get("initial_value")
    assert raw["slots"][CLINIC_OPEN]["initial_value"] is True
