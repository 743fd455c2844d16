"""The shape of a knowledge entry, and the checks that turn hand-written YAML into it.

Checks collect every problem instead of stopping at the first, so one validation run
shows staff everything to fix.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import AbstractSet, Any, Dict, List, Mapping, Optional, Tuple

from bot.knowledge.clinic import TEMPLATE_FIELDS
from bot.knowledge.errors import Problem
from bot.knowledge.procedures import CATEGORIES, PHASES, DayRange, Procedures
from bot.knowledge.sources import SourceDocument, read_source

ENTRY_KEYS = ("id", "title", "intents", "answer", "conditions", "sources", "notes")
CONDITION_KEYS = ("days_since", "course", "procedure")
DAY_RANGE_KEYS = ("min", "max")

_ENTRY_ID = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class Conditions:
    """When an entry applies; an absent condition means "whatever the value".

    ``course`` ("peeling", "expected") names a phase of the course in procedures.yml; its days,
    which depend on the procedure, are resolved when the knowledge loads (``course_days``).
    """

    days_since: DayRange | None = None
    procedures: frozenset[str] | None = None
    course: Tuple[str, str] | None = None
    course_days: Tuple[Tuple[Optional[str], Optional[DayRange]], ...] = ()

    def days_for(self, procedure: str | None) -> Tuple[bool, DayRange | None]:
        """Return (has a day condition, its days for ``procedure``); None days: never on any day."""
        if self.course is not None:
            return True, dict(self.course_days).get(procedure)
        return self.days_since is not None, self.days_since

    def applies_to(self, procedure: str | None) -> bool:
        """Tell whether the entry can answer a patient who had ``procedure`` (None: not said)."""
        return self.procedures is None or procedure in self.procedures

    def matches(self, days_since: int | None, procedure: str | None) -> bool:
        """Tell whether the entry applies; a condition on an unknown value does not match."""
        if not self.applies_to(procedure):
            return False
        has_days, days = self.days_for(procedure)
        return not has_days or (days is not None and days_since is not None and days.contains(days_since))

    @property
    def specificity(self) -> Tuple[int, int]:
        """Rank entries: a day-range match outranks a procedure match, which outranks none."""
        has_days = self.days_since is not None or self.course is not None
        return (int(has_days), int(self.procedures is not None))

    def clashes_with(self, other: Conditions, contexts: Tuple[str | None, ...]) -> str | None:
        """Describe how both entries could answer one question at the same specificity, or None.

        ``contexts`` are the procedures a patient may have had (None: not said).
        """
        if self.specificity != other.specificity:
            return None
        for procedure in contexts:
            if not (self.applies_to(procedure) and other.applies_to(procedure)):
                continue
            mine, theirs = self.days_for(procedure)[1], other.days_for(procedure)[1]
            if self.specificity[0] == 0:
                return (
                    "both apply to the same procedure on any day"
                    if self.procedures
                    else "both are defaults without conditions"
                )
            if mine is not None and theirs is not None and mine.overlaps(theirs):
                where = f" for {procedure}" if procedure else ""
                return f"overlapping day ranges{where} ({mine} and {theirs})"
        return None


@dataclass(frozen=True)
class Entry:
    """One answer to one or more intents, with the seed documents that back it."""

    id: str
    intents: Tuple[str, ...]
    answer: str
    sources: Tuple[str, ...]
    file: str
    conditions: Conditions = Conditions()
    title: str | None = None
    notes: str | None = None


def placeholder_problems(text: str) -> List[str]:
    """Describe every placeholder in ``text`` that clinic settings cannot fill."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return ["unbalanced braces; write {{ or }} for a literal brace"]
    problems = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in TEMPLATE_FIELDS:
            known = ", ".join("{" + field + "}" for field in sorted(TEMPLATE_FIELDS))
            problems.append(f"unknown placeholder '{{{name}}}' (known: {known})")
        elif spec or conversion:
            problems.append(f"placeholder '{{{name}}}' must not carry a format or conversion")
    return problems


@dataclass(frozen=True)
class KnownNames:
    """What entries may refer to: sources, intents (None: not checked) and procedures."""

    sources: AbstractSet[str]
    intents: AbstractSet[str] | None
    procedures: Procedures


class _EntryReader:
    """Collect problems while reading one raw entry mapping."""

    def __init__(self, file: str, label: str, procedures: Procedures) -> None:
        self.file = file
        self.label = label
        self.known_procedures = procedures
        self.problems: List[Problem] = []

    def problem(self, message: str, field: str | None = None) -> None:
        self.problems.append(Problem(self.file, message, entry=self.label, field=field))

    def unknown_keys(self, raw: Mapping[Any, Any], allowed: Tuple[str, ...], prefix: str = "") -> None:
        for key in raw:
            if key not in allowed:
                self.problem(f"unknown key (allowed: {', '.join(allowed)})", field=f"{prefix}{key}")

    def text(self, raw: Mapping[str, Any], key: str, required: bool) -> str | None:
        value = raw.get(key)
        if value is None and not required and key not in raw:
            return None
        if not isinstance(value, str) or not value.strip():
            self.problem("must be non-empty text", field=key)
            return None
        return " ".join(value.split())

    def names(self, raw: Mapping[str, Any], key: str, required: bool) -> Tuple[str, ...]:
        if key not in raw and not required:
            return ()
        value = raw.get(key)
        if value is None or value == [] or value == "":
            self.problem("must not be empty", field=key)
            return ()
        if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
            self.problem("must be a list of names", field=key)
            return ()
        duplicates = sorted({item for item in value if value.count(item) > 1})
        if duplicates:
            self.problem(f"lists {', '.join(duplicates)} more than once", field=key)
        return tuple(dict.fromkeys(item.strip() for item in value))

    def day_range(self, raw: Any) -> DayRange | None:
        field = "conditions.days_since"
        if not isinstance(raw, dict) or not raw:
            self.problem("must be a mapping with min and/or max (whole days)", field=field)
            return None
        self.unknown_keys(raw, DAY_RANGE_KEYS, prefix=f"{field}.")
        bounds = {}
        for key in DAY_RANGE_KEYS:
            value = raw.get(key)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                self.problem("must be a whole number of days, 0 or more", field=f"{field}.{key}")
                return None
            bounds[key] = value
        minimum, maximum = bounds.get("min", 0), bounds.get("max")
        if maximum is not None and maximum < minimum:
            self.problem(f"max ({maximum}) is below min ({minimum})", field=field)
            return None
        return DayRange(minimum, maximum)

    def procedures(self, raw: Any) -> frozenset[str] | None:
        field = "conditions.procedure"
        values = [raw] if isinstance(raw, str) else raw
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            self.problem("must be a non-empty list of procedure names", field=field)
            return None
        known = self.known_procedures.ids
        unknown = sorted(set(values) - known)
        if unknown:
            self.problem(
                f"unknown procedure {', '.join(unknown)} (known: {', '.join(sorted(known))})",
                field=field,
            )
            return None
        return frozenset(values)

    def course(
        self, raw: Any
    ) -> Tuple[Tuple[str, str] | None, Tuple[Tuple[Optional[str], Optional[DayRange]], ...]]:
        """Read ``peeling.expected`` and resolve its days for every procedure."""
        field = "conditions.course"
        category, _, phase = raw.partition(".") if isinstance(raw, str) else ("", "", "")
        if category not in CATEGORIES or phase not in PHASES:
            self.problem(
                f"must be <symptom>.<phase>, symptom one of {', '.join(CATEGORIES)}, "
                f"phase one of {', '.join(PHASES)}",
                field=field,
            )
            return None, ()
        procedures = self.known_procedures
        days = tuple(
            (context, step.phase(phase) if (step := procedures.course(context).get(category)) else None)
            for context in procedures.contexts()
        )
        if days[0][1] is None:
            self.problem(f"the documented {category} course has no {phase} days", field=field)
            return None, ()
        return (category, phase), days

    def conditions(self, raw: Any) -> Conditions:
        if raw is None:
            return Conditions()
        if not isinstance(raw, dict):
            self.problem("must be a mapping with days_since or course, and/or procedure", field="conditions")
            return Conditions()
        self.unknown_keys(raw, CONDITION_KEYS, prefix="conditions.")
        if "days_since" in raw and "course" in raw:
            self.problem("give days_since or course, not both", field="conditions")
        days = self.day_range(raw["days_since"]) if "days_since" in raw else None
        course, course_days = self.course(raw["course"]) if "course" in raw else (None, ())
        procedures = self.procedures(raw["procedure"]) if "procedure" in raw else None
        return Conditions(days_since=days, procedures=procedures, course=course, course_days=course_days)


def read_entry(
    raw: Any,
    index: int,
    file: str,
    known: KnownNames,
) -> Tuple[Entry | None, List[Problem]]:
    """Validate one raw entry; return it (None if unusable) with every problem found."""
    raw_id = raw.get("id") if isinstance(raw, dict) else None
    label = raw_id if isinstance(raw_id, str) and raw_id.strip() else f"#{index + 1}"
    reader = _EntryReader(file, label, known.procedures)
    if not isinstance(raw, dict):
        reader.problem("must be a mapping of fields")
        return None, reader.problems
    reader.unknown_keys(raw, ENTRY_KEYS)
    entry_id = reader.text(raw, "id", required=True)
    if entry_id is not None and not _ENTRY_ID.match(entry_id):
        reader.problem("must be lower_snake_case (letters, digits, underscores)", field="id")
    intents = reader.names(raw, "intents", required=True)
    if known.intents is not None:
        for intent in intents:
            if intent not in known.intents:
                reader.problem(f"unknown intent '{intent}' (not listed in the domain)", field="intents")
    answer = reader.text(raw, "answer", required=True)
    if answer is not None:
        for message in placeholder_problems(answer):
            reader.problem(message, field="answer")
    sources = reader.names(raw, "sources", required=True)
    for source in sources:
        if source not in known.sources:
            reader.problem(f"unknown source '{source}' (not listed in sources.yml)", field="sources")
    conditions = reader.conditions(raw.get("conditions"))
    title = reader.text(raw, "title", required=False)
    notes = reader.text(raw, "notes", required=False)
    if reader.problems or entry_id is None or answer is None:
        return None, reader.problems
    entry = Entry(
        id=entry_id,
        intents=intents,
        answer=answer,
        sources=sources,
        file=file,
        conditions=conditions,
        title=title,
        notes=notes,
    )
    return entry, []


def read_sources(raw: Any, file: str) -> Tuple[Dict[str, SourceDocument], List[Problem]]:
    """Validate ``sources.yml``: a ``sources`` mapping of seed file name to its title (and link, leaflet)."""
    if not isinstance(raw, dict) or set(raw) != {"sources"} or not isinstance(raw["sources"], dict):
        return {}, [Problem(file, "must contain exactly one key, 'sources', mapping file names to a title")]
    documents: Dict[str, SourceDocument] = {}
    problems: List[Problem] = []
    for name, details in raw["sources"].items():
        document, found = read_source(str(name), details, file)
        problems.extend(found)
        if document is not None:
            documents[document.file] = document
    if not documents and not problems:
        problems.append(Problem(file, "lists no sources", field="sources"))
    return documents, problems
