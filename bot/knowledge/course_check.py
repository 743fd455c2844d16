"""Refuse answers that call a symptom normal on a day the triage layer escalates it.

Triage asks the patient to book a check from a category's ``routine_from`` day (procedures.yml);
an answer picked on such a day must not reassure. The check plays every day of the course
through the real selection, for a patient who named no procedure and for each procedure.
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Set, Tuple

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.errors import Problem

# Words that tell a patient a symptom is fine; "longer than expected" says the opposite.
_REASSURING = re.compile(r"(?<!than )\b(?:normal|expected|common|usual|nothing to worry)\b", re.IGNORECASE)
# Days past the last routine day that are still checked; every range is open-ended after that.
_MARGIN = 30


def reassures(text: str) -> bool:
    """Tell whether ``text`` calls a symptom normal or expected."""
    return _REASSURING.search(text) is not None


def course_categories(kb: KnowledgeBase) -> Dict[str, Set[str]]:
    """Return, per intent, the symptom categories its answers talk about.

    Linked by the course's ``intents`` in procedures.yml, and by entries' ``conditions.course``.
    """
    linked: Dict[str, Set[str]] = {}
    for step in kb.procedures.default_course.values():
        for intent in step.intents:
            linked.setdefault(intent, set()).add(step.category)
    for entry in kb.entries:
        if entry.conditions.course is not None:
            for intent in entry.intents:
                linked.setdefault(intent, set()).add(entry.conditions.course[0])
    return linked


def _escalated_days(kb: KnowledgeBase, category: str, procedure: str | None) -> Iterable[int]:
    step = kb.procedures.course(procedure).get(category)
    if step is None:
        return ()
    return range(step.routine_from, step.routine_from + _MARGIN + 1)


def course_problems(kb: KnowledgeBase) -> List[Problem]:
    """List every answer that would reassure on a day triage escalates (one problem per case)."""
    problems: List[Problem] = []
    seen: Set[Tuple[str, str, str | None]] = set()
    for intent, categories in sorted(course_categories(kb).items()):
        for category in sorted(categories):
            for procedure in kb.procedures.contexts():
                for day in _escalated_days(kb, category, procedure):
                    entry = kb.select(intent, day, procedure)
                    if (
                        entry is None
                        or not reassures(entry.answer)
                        or (entry.id, category, procedure) in seen
                    ):
                        continue
                    seen.add((entry.id, category, procedure))
                    who = f"after {procedure}" if procedure else "when the procedure is not known"
                    problems.append(
                        Problem(
                            entry.file,
                            f"calls {category} normal on day {day} {who}, but triage asks for a check from "
                            f"that day (procedures.yml); use conditions.course: {category}.prolonged "
                            "or reword it",
                            entry=entry.id,
                            field="answer",
                        )
                    )
    return problems
