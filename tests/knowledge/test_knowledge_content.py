"""The shipped knowledge: complete, renderable, plain, and written in our own words."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import List, Set

import pytest

from bot.knowledge import ClinicSettings, KnowledgeBase
from bot.knowledge.originality import copied_runs
from bot.knowledge.providers import domain_intents as settings_domain_intents
from bot.settings import PROJECT_ROOT, Settings
from tests.knowledge.conftest import ESCALATION_INTENTS, PATIENT_QUESTION_INTENTS

SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
MARKUP = re.compile(r"[*_#<>`\[\]{}]|https?://")


def test_entries_are_shipped(kb: KnowledgeBase) -> None:
    assert len(kb.entries) >= len(PATIENT_QUESTION_INTENTS) + len(ESCALATION_INTENTS)


@pytest.mark.parametrize("intent", PATIENT_QUESTION_INTENTS + ESCALATION_INTENTS)
def test_every_contract_intent_has_a_default_answer(
    intent: str, kb: KnowledgeBase, example_clinic: ClinicSettings
) -> None:
    answer = kb.answer(intent, clinic=example_clinic)
    assert answer.found
    (entry,) = [entry for entry in kb.entries if entry.id == answer.entry_id]
    assert entry.conditions.specificity == (0, 0)


def test_answered_intents_are_domain_intents(kb: KnowledgeBase, domain_intents: Set[str]) -> None:
    assert kb.intents() <= domain_intents
    assert set(PATIENT_QUESTION_INTENTS + ESCALATION_INTENTS) <= kb.intents()


def test_every_entry_renders_as_short_plain_text(kb: KnowledgeBase, example_clinic: ClinicSettings) -> None:
    for entry in kb.entries:
        text = kb.render(entry, example_clinic)
        assert not MARKUP.search(text), f"{entry.id}: markup or leftover placeholder in {text!r}"
        assert 1 <= len(SENTENCE_END.findall(text)) <= 4, f"{entry.id}: not 1-4 sentences"
        assert text == text.strip() and "  " not in text, entry.id


def test_clinic_values_appear_in_rendered_answers(kb: KnowledgeBase, example_clinic: ClinicSettings) -> None:
    text = kb.answer("ask_peeling", days_since=20, clinic=example_clinic).text
    assert example_clinic.clinic_name in text and example_clinic.phone in text
    assert example_clinic.sessions_course in kb.answer("ask_results", clinic=example_clinic).text


@pytest.mark.parametrize(
    ("intent", "clinic_field"),
    [
        ("report_pain", "phone"),
        ("report_fever", "phone"),
        ("report_infection", "phone"),
        ("report_allergic_reaction", "emergency_number"),
    ],
)
def test_escalation_details_point_to_help(
    intent: str, clinic_field: str, kb: KnowledgeBase, example_clinic: ClinicSettings
) -> None:
    answer = kb.answer(intent, clinic=example_clinic)
    assert getattr(example_clinic, clinic_field) in answer.text


def test_every_entry_cites_titled_sources(kb: KnowledgeBase, example_clinic: ClinicSettings) -> None:
    for entry in kb.entries:
        assert entry.sources, entry.id
        for source in entry.sources:
            title = kb.source_title(source)
            assert title.endswith(f"({source})") and len(title) > len(source) + 3, title


def test_answer_carries_sources_and_titles(kb: KnowledgeBase, example_clinic: ClinicSettings) -> None:
    answer = kb.answer("ask_peel_off", clinic=example_clinic)
    assert answer.sources == ["000_c9e12835174f2d55.txt"]
    assert answer.source_titles == ["Smart Skin Clinic — peeling after Dermapen (000_c9e12835174f2d55.txt)"]


def _seed_texts() -> List[str]:
    folder = Path(os.environ.get("AFTERCARE_SEEDS_DIR") or PROJECT_ROOT.parent / "shared" / "seeds")
    return [path.read_text(encoding="utf-8") for path in sorted(folder.glob("*.txt"))]


@pytest.mark.skipif(not _seed_texts(), reason="source documents not available (set AFTERCARE_SEEDS_DIR)")
def test_answers_do_not_copy_source_sentences(kb: KnowledgeBase, example_clinic: ClinicSettings) -> None:
    seeds = _seed_texts()
    copied = {
        entry.id: runs
        for entry in kb.entries
        if (runs := copied_runs(kb.render(entry, example_clinic), seeds))
    }
    assert copied == {}


def test_providers_read_the_shipped_domain() -> None:
    intents = settings_domain_intents(Settings())
    assert intents is not None and set(PATIENT_QUESTION_INTENTS) <= intents
