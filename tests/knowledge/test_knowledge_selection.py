"""Picking the best entry for a question: intent, days since treatment, procedure."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from bot.knowledge import ClinicSettings, KnowledgeBase, get_clinic_settings, load_knowledge_base
from bot.knowledge.base import whole_days
from tests.knowledge.conftest import WriteKnowledge, load_cases

CASES = load_cases("selection.yml")["cases"]


def _case_id(case: Dict[str, Any]) -> str:
    return "-".join(str(case[key]) for key in ("intent", "days_since", "procedure") if key in case)


@pytest.mark.parametrize("case", CASES, ids=[_case_id(case) for case in CASES])
def test_best_entry_is_selected(
    case: Dict[str, Any], kb: KnowledgeBase, example_clinic: ClinicSettings
) -> None:
    answer = kb.answer(
        case["intent"],
        days_since=case.get("days_since"),
        procedure=case.get("procedure"),
        clinic=example_clinic,
    )
    assert (answer.found, answer.entry_id) == (True, case["expect"])
    assert answer.intent == case["intent"]


@pytest.mark.parametrize("intent", ["ask_weather", "greet", ""])
def test_unknown_topic_has_no_answer(intent: str, kb: KnowledgeBase, example_clinic: ClinicSettings) -> None:
    answer = kb.answer(intent, days_since=3, clinic=example_clinic)
    assert not answer.found
    assert (answer.entry_id, answer.text, answer.sources, answer.source_titles) == (None, "", [], [])


def test_days_condition_beats_procedure_condition(write_knowledge: WriteKnowledge) -> None:
    base = {"intents": ["ask_peeling"], "answer": "Text.", "sources": ["a.txt"]}
    kb = load_knowledge_base(
        write_knowledge(
            entries=[
                {**base, "id": "default"},
                {**base, "id": "roller", "conditions": {"procedure": ["derma_roller"]}},
                {**base, "id": "early", "conditions": {"days_since": {"max": 2}}},
                {
                    **base,
                    "id": "early_roller",
                    "conditions": {"days_since": {"max": 2}, "procedure": ["derma_roller"]},
                },
            ]
        )
    )
    picks = {
        (days, procedure): kb.select("ask_peeling", days, procedure).id
        for days in (None, 1, 5)
        for procedure in (None, "roller", "dermapen")
    }
    assert picks == {
        (None, None): "default",
        (None, "roller"): "roller",
        (None, "dermapen"): "default",
        (1, None): "early",
        (1, "roller"): "early_roller",
        (1, "dermapen"): "early",
        (5, None): "default",
        (5, "roller"): "roller",
        (5, "dermapen"): "default",
    }


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (3, 3),
        (0, 0),
        (3.0, 3),
        (2.7, 2),
        ("4", 4),
        (" 5 ", 5),
        (-1, None),
        (True, None),
        ("soon", None),
        (None, None),
        (float("nan"), None),
    ],
)
def test_days_since_from_slot_values(value: object, expected: object) -> None:
    assert whole_days(value) == expected


def test_without_clinic_the_configured_clinic_fills_in(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFTERCARE_CLINIC_NAME", "Rosewood Dermatology")
    get_clinic_settings.cache_clear()
    try:
        text = kb.answer("ask_peeling", days_since=30).text
    finally:
        get_clinic_settings.cache_clear()
    assert "Rosewood Dermatology" in text
