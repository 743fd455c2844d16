"""The conversation layer takes its knowledge intents and procedure names from the knowledge."""

from __future__ import annotations

import re

import pytest
import yaml

from bot.conversation import RED_FLAG_INTENTS, Turn, acknowledge_details, answer_question
from bot.knowledge import ClinicSettings, KnowledgeBase
from bot.settings import PROJECT_ROOT

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))


def _turn(intent: str = "inform", procedure: str | None = None) -> Turn:
    return Turn(conversation_id="c1", channel="rest", text="", intent=intent, triage={}, procedure=procedure)


@pytest.mark.parametrize(
    ("slot", "shown"),
    [("derma_roller", "derma roller"), ("rf_microneedling", "RF microneedling"), ("Derma-Pen", "Dermapen")],
)
def test_procedure_noted_shows_the_name_not_the_id(
    kb: KnowledgeBase, example_clinic: ClinicSettings, slot: str, shown: str
) -> None:
    outcome = acknowledge_details(kb, example_clinic, _turn(procedure=slot))
    noted = outcome.replies[0]
    assert (noted.response, noted.values) == ("utter_procedure_noted", {"procedure_name": shown})
    text = DOMAIN["responses"]["utter_procedure_noted"][0]["text"]
    assert set(re.findall(r"{(\w+)}", text)) == set(noted.values)
    assert shown in text.format(**noted.values)


def test_unknown_procedure_text_is_shown_as_given(kb: KnowledgeBase, example_clinic: ClinicSettings) -> None:
    outcome = acknowledge_details(kb, example_clinic, _turn(procedure="laser"))
    assert outcome.replies[0].values == {"procedure_name": "laser"}


def test_knowledge_intents_come_from_the_knowledge_base(
    kb: KnowledgeBase, example_clinic: ClinicSettings
) -> None:
    assert kb.intents() >= RED_FLAG_INTENTS
    for intent in sorted(kb.intents() - RED_FLAG_INTENTS):
        outcome = answer_question(kb, example_clinic, _turn(intent))
        assert outcome.replies[0].response == "utter_kb_answer", intent
        assert outcome.topic == intent
    assert answer_question(kb, example_clinic, _turn("greet")).replies[0].response == "utter_no_answer"
