"""What a triage assessment returns: the level, and the evidence for it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set

from bot.triage.levels import Level

ASSERTED = "asserted"
ANECDOTE = "anecdote"


@dataclass(frozen=True)
class Finding:
    """One symptom mention, with where it is in the message and which rule saw it.

    ``status`` tells why a mention did or did not count: ``asserted`` (it counts), ``negated``,
    ``hypothetical``, ``question`` (a general question), ``procedural`` (during the treatment
    itself), ``anecdote`` (someone else's complication, or one from an earlier treatment, told
    next to a question about the patient's own risk: asked about, neither escalated nor
    ignored), ``measured_normal`` (a fever word next to a normal thermometer reading) or
    ``normal_reading`` (the reading itself, rule ``fever.temperature_normal``).
    """

    category: str
    level: Level
    text: str
    start: int
    end: int
    rule: str
    status: str = ASSERTED

    def to_dict(self) -> Dict[str, Any]:
        """Return a JSON-serialisable copy (the level as its string value)."""
        return {
            "category": self.category,
            "level": self.level.value,
            "text": self.text,
            "start": self.start,
            "end": self.end,
            "rule": self.rule,
            "status": self.status,
        }


@dataclass(frozen=True)
class TriageResult:
    """The outcome of :func:`bot.triage.assess` for one message."""

    level: Level = Level.NONE
    findings: List[Finding] = field(default_factory=list)
    negated: List[Finding] = field(default_factory=list)
    rule: str = ""
    topics: Set[str] = field(default_factory=set)
    days_since: Optional[int] = None

    @property
    def red_flags(self) -> List[Finding]:
        """Return the asserted findings that need a doctor today or emergency services."""
        return [finding for finding in self.findings if finding.level >= Level.URGENT]

    @property
    def deciding_finding(self) -> Optional[Finding]:
        """Return the finding whose rule decided the level, if any."""
        for finding in self.findings:
            if finding.rule == self.rule and finding.level == self.level:
                return finding
        return None

    def to_dict(self) -> Dict[str, Any]:
        """Return a JSON-serialisable copy, as stored in the Rasa parse data."""
        return {
            "level": self.level.value,
            "rule": self.rule,
            "findings": [finding.to_dict() for finding in self.findings],
            "negated": [finding.to_dict() for finding in self.negated],
            "red_flags": [finding.to_dict() for finding in self.red_flags],
            "topics": sorted(self.topics),
            "days_since": self.days_since,
        }
