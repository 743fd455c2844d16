"""Deterministic triage of patient messages: the safety layer of the assistant.

``assess(text, days_since, procedure)`` reads a message and returns a :class:`TriageResult` whose level
says how soon the patient must act (see :class:`Level`), with the findings that explain it.
The vocabulary and rules are data in ``patterns.yml``; spaCy is loaded on the first call.
"""

from bot.triage.levels import Level
from bot.triage.result import Finding, TriageResult


def assess(text: str, days_since: "int | None" = None, procedure: "str | None" = None) -> TriageResult:
    """Triage one patient message; never raises (see :func:`bot.triage.engine.assess`)."""
    from bot.triage.engine import assess as engine_assess

    return engine_assess(text, days_since, procedure)


__all__ = ["Finding", "Level", "TriageResult", "assess"]
