"""The in-memory knowledge base and the answers it gives.

Modelled on rasa_sdk's knowledge-base design: a store built once from validated data,
handed to the actions, queried with the intent plus what is known about the patient.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import AbstractSet, Dict, Iterable, List, Mapping, Tuple

from bot.knowledge.clinic import ClinicSettings, get_clinic_settings
from bot.knowledge.procedures import Procedures
from bot.knowledge.schema import Entry
from bot.knowledge.sources import SourceDocument


@dataclass(frozen=True)
class Answer:
    """What the knowledge base says about one question; ``found`` False means "no answer"."""

    found: bool
    intent: str
    entry_id: str | None = None
    text: str = ""
    sources: List[str] = field(default_factory=list)
    source_titles: List[str] = field(default_factory=list)  # for staff: title and file name
    citations: List[str] = field(default_factory=list)  # for patients: title, leaflet, link
    title: str | None = None


def whole_days(value: object) -> int | None:
    """Turn a slot or entity value into whole days since treatment, None when unusable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value == value:  # NaN is not a day
        value = int(value)
    elif isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value >= 0 else None


class KnowledgeBase:
    """Validated entries, and the rules for picking the best one for a question."""

    def __init__(
        self, entries: Iterable[Entry], sources: Mapping[str, SourceDocument], procedures: Procedures
    ) -> None:
        self.entries: Tuple[Entry, ...] = tuple(entries)
        self.procedures = procedures
        self._sources: Dict[str, SourceDocument] = dict(sources)
        self._intents = frozenset(intent for entry in self.entries for intent in entry.intents)

    def intents(self) -> AbstractSet[str]:
        """Return every intent at least one entry answers (the questions answered from knowledge)."""
        return self._intents

    def source_title(self, source: str) -> str:
        """Describe a seed document for staff: its title followed by its file name."""
        return self._document(source).for_staff

    def citation(self, source: str) -> str:
        """Describe a seed document for a patient: its title (leaflet, link), never its file name."""
        return self._document(source).for_patient()

    def _document(self, source: str) -> SourceDocument:
        # Loading refuses entries that cite a source sources.yml lacks, so this always finds it.
        return self._sources[source]

    def select(self, intent: str, days_since: object = None, procedure: str | None = None) -> Entry | None:
        """Return the most specific entry for the question, or None when there is none.

        Loading guarantees no two matching entries share a specificity, so the pick is unique.
        """
        days = whole_days(days_since)
        canonical = self.procedures.normalise(procedure)
        matching = [
            entry
            for entry in self.entries
            if intent in entry.intents and entry.conditions.matches(days, canonical)
        ]
        return max(matching, key=lambda entry: entry.conditions.specificity, default=None)

    def render(self, entry: Entry, clinic: ClinicSettings) -> str:
        """Fill the entry's placeholders with the clinic's values."""
        return entry.answer.format_map(clinic.as_template_values())

    def answer(
        self,
        intent: str,
        days_since: object = None,
        procedure: str | None = None,
        clinic: ClinicSettings | None = None,
    ) -> Answer:
        """Answer ``intent`` for a patient ``days_since`` days after ``procedure``.

        Without ``clinic`` the configured clinic (``get_clinic_settings()``) fills the text.
        """
        entry = self.select(intent, days_since, procedure)
        if entry is None:
            return Answer(found=False, intent=intent)
        if clinic is None:
            clinic = get_clinic_settings()
        return Answer(
            found=True,
            intent=intent,
            entry_id=entry.id,
            text=self.render(entry, clinic),
            sources=list(entry.sources),
            source_titles=[self.source_title(source) for source in entry.sources],
            citations=[self.citation(source) for source in entry.sources],
            title=entry.title,
        )
