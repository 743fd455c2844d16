"""Triage and the knowledge answers agree on the course: day 14 is one day, not two.

A patient told "please book a check" by the triage layer must not then read "this is normal",
and a patient triage leaves alone must not be told the symptom lasts too long. Both sides read
knowledge/procedures.yml; these tests play real messages through both for every day and procedure.
"""

from __future__ import annotations

from typing import List, Tuple

import pytest

from bot.knowledge import ClinicSettings, KnowledgeBase
from bot.knowledge.course_check import reassures
from bot.triage import Level, assess

PEELING = "my skin is still peeling"
# (patient message, the question it asks, symptom category)
MESSAGES: List[Tuple[str, str, str]] = [
    (PEELING, "ask_peeling", "peeling"),
    ("I still have breakouts", "ask_pimples", "breakout"),
    ("my face is still red", "report_redness_swelling", "redness"),
]
ASKS_FOR_CHECK = "book a check"


def _both(
    kb: KnowledgeBase, clinic: ClinicSettings, message: str, intent: str, day: int, procedure: str | None
) -> Tuple[Level, str]:
    level = assess(message, days_since=day, procedure=procedure).level
    text = kb.answer(intent, days_since=day, procedure=procedure, clinic=clinic).text
    return level, text


@pytest.mark.parametrize(("message", "intent", "category"), MESSAGES)
@pytest.mark.parametrize("day", [13, 14, 15])
def test_day_14_is_one_day_for_triage_and_answer(
    kb: KnowledgeBase, example_clinic: ClinicSettings, message: str, intent: str, category: str, day: int
) -> None:
    level, text = _both(kb, example_clinic, message, intent, day, None)
    if level >= Level.ROUTINE:
        assert not reassures(text), (day, text)
        assert ASKS_FOR_CHECK in text, (day, text)
    else:
        assert ASKS_FOR_CHECK not in text, (day, text)


@pytest.mark.parametrize(("message", "intent", "category"), MESSAGES)
def test_every_day_and_procedure_agree(
    kb: KnowledgeBase, example_clinic: ClinicSettings, message: str, intent: str, category: str
) -> None:
    disagreements = []
    for procedure in kb.procedures.contexts():
        for day in range(0, 31):
            level, text = _both(kb, example_clinic, message, intent, day, procedure)
            escalated = level >= Level.ROUTINE
            if escalated and (reassures(text) or ASKS_FOR_CHECK not in text):
                disagreements.append((procedure, day, "triage escalates, the answer reassures"))
            if not escalated and ASKS_FOR_CHECK in text:
                disagreements.append((procedure, day, "the answer asks for a check, triage does not"))
    assert disagreements == []


def test_escalation_day_comes_from_procedures_file(kb: KnowledgeBase) -> None:
    rf = kb.procedures.course("rf_microneedling")["peeling"]
    assert rf.set_by_clinic and rf.routine_from == 10
    assert assess(PEELING, days_since=9, procedure="RF microneedling").level < Level.ROUTINE
    assert assess(PEELING, days_since=10, procedure="RF microneedling").level == Level.ROUTINE
    assert assess(PEELING, days_since=10, procedure="dermapen").level < Level.ROUTINE
    assert assess(PEELING, days_since=14, procedure="dermapen").level == Level.ROUTINE
