"""Procedures through the real assistant: the name patients read, the id the slot keeps, the course."""

from __future__ import annotations

import uuid

import pytest
import yaml

from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]


def _sender() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def test_procedure_noted_shows_the_name_and_the_slot_keeps_the_id(assistant) -> None:
    sender = _sender()
    texts = assistant.texts(sender, "it was the derma roller")
    expected = RESPONSES["utter_procedure_noted"][0]["text"].format(procedure_name="derma roller")
    assert expected in texts
    assert not any("derma_roller" in text for text in texts)
    assert assistant.tracker(sender)["slots"]["procedure"] == "derma_roller"


def test_rf_microneedling_is_escalated_on_the_clinic_day(assistant) -> None:
    sender = _sender()
    assistant.texts(sender, "I came in for RF microneedling 10 days ago")
    slots = assistant.tracker(sender)["slots"]
    assert (slots["procedure"], slots["days_since_procedure"]) == ("rf_microneedling", 10.0)
    texts = assistant.texts(sender, "my skin is still peeling")
    assert texts[0].startswith(RESPONSES["utter_escalate_routine"][0]["text"].split("{")[0])
    assert assistant.tracker(sender)["slots"]["triage_level"] == "routine"
