"""The treatments the assistant knows, read from ``knowledge/procedures.yml``: one home for each.

Knowledge day ranges, the triage layer's "routine from day N" course, the check-in days and
the NLU synonyms all come from here, so they cannot disagree. A procedure whose course no
source document covers takes it from the clinic file (``procedure_courses``).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

from bot.knowledge.clinic import ClinicSettings, get_clinic_settings
from bot.knowledge.errors import KnowledgeError, Problem
from bot.knowledge.yaml_files import display_path, read_yaml
from bot.settings import process_settings

logger = logging.getLogger(__name__)

PROCEDURES_FILE = "procedures.yml"
DEFAULT_LANGUAGE = "en"
CLINIC_COURSE = "clinic"
CATEGORIES = ("peeling", "breakout", "redness", "swelling", "bruising")
PHASES = ("early", "expected", "lingering", "prolonged")
FILE_KEYS = ("course", "check_in_days", "procedures")
PROCEDURE_KEYS = ("id", "names", "spellings", "course", "check_in_days")
STEP_KEYS = ("expected_from", "expected_to", "routine_from", "sources", "intents")

_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_NOT_A_LETTER = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class DayRange:
    """Whole days since treatment, both ends included; ``maximum`` None means open-ended."""

    minimum: int = 0
    maximum: int | None = None

    def contains(self, day: int) -> bool:
        """Tell whether ``day`` falls inside the range."""
        return day >= self.minimum and (self.maximum is None or day <= self.maximum)

    def overlaps(self, other: DayRange) -> bool:
        """Tell whether some day falls inside both ranges."""
        low = max(self.minimum, other.minimum)
        highs = [m for m in (self.maximum, other.maximum) if m is not None]
        return not highs or low <= min(highs)

    def __str__(self) -> str:
        if self.maximum is None:
            return f"days {self.minimum}+"
        return f"days {self.minimum}-{self.maximum}"


@dataclass(frozen=True)
class CourseStep:
    """How one symptom category usually runs after a treatment."""

    category: str
    expected: DayRange | None  # the days it is a normal part of healing, when known
    routine_from: int  # from this day on, triage asks the patient to book a check
    set_by_clinic: bool = False
    sources: Tuple[str, ...] = ()
    intents: Tuple[str, ...] = ()

    @property
    def rule(self) -> str:
        """Name the triage rule that escalates the symptom from ``routine_from`` on."""
        return f"{self.category}.prolonged"

    def phase(self, name: str) -> DayRange | None:
        """Return the days of phase ``name`` (see ``PHASES``); None when it has no day."""
        if name == "prolonged":
            return DayRange(self.routine_from)
        if self.expected is None or self.expected.maximum is None:
            return None
        low, high = {
            "early": (0, self.expected.minimum - 1),
            "expected": (self.expected.minimum, self.expected.maximum),
            "lingering": (self.expected.maximum + 1, self.routine_from - 1),
        }[name]
        return DayRange(low, high) if low <= high else None


Course = Mapping[str, CourseStep]


@dataclass(frozen=True)
class Procedure:
    """One treatment: its id (a contract), names shown to patients, spellings and course."""

    id: str
    names: Mapping[str, str]
    spellings: Tuple[str, ...]
    course: Course
    check_in_days: Tuple[int, ...]
    course_set_by_clinic: bool = False

    def name(self, language: str = DEFAULT_LANGUAGE) -> str:
        """Return the name shown to patients, in ``language`` when it has one."""
        return self.names.get(language) or self.names[DEFAULT_LANGUAGE]


def spelling_key(text: str) -> str:
    """Reduce a spelling to letters and digits, so case, spaces and hyphens do not matter."""
    return _NOT_A_LETTER.sub("", text.casefold())


@dataclass(frozen=True)
class Procedures:
    """Every known procedure, and the documented course for a patient who has not named one."""

    default_course: Course
    procedures: Tuple[Procedure, ...]
    default_check_in_days: Tuple[int, ...] = (1, 3, 7)
    _by_id: Dict[str, Procedure] = field(default_factory=dict, compare=False, repr=False)
    _by_spelling: Dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for procedure in self.procedures:
            self._by_id[procedure.id] = procedure
            for text in (procedure.id, *procedure.names.values(), *procedure.spellings):
                self._by_spelling.setdefault(spelling_key(text), procedure.id)

    @property
    def ids(self) -> frozenset[str]:
        """Return every procedure id."""
        return frozenset(self._by_id)

    def get(self, procedure_id: str | None) -> Procedure | None:
        """Return the procedure with ``procedure_id``, if any."""
        return self._by_id.get(procedure_id or "")

    def normalise(self, value: object) -> str | None:
        """Return the id of the procedure ``value`` names ("Derma-Pen" -> "dermapen"), or None."""
        if not isinstance(value, str) or not value.strip():
            return None
        return self._by_spelling.get(spelling_key(value))

    def course(self, procedure: object = None) -> Course:
        """Return the course for ``procedure`` (any spelling); the documented one when unknown."""
        known = self.get(self.normalise(procedure))
        return known.course if known is not None else self.default_course

    def check_in_days(self, procedure: object = None) -> Tuple[int, ...]:
        """Return the days after ``procedure`` (any spelling) on which to check in with the patient."""
        known = self.get(self.normalise(procedure))
        return known.check_in_days if known is not None else self.default_check_in_days

    def contexts(self) -> Tuple[str | None, ...]:
        """Return None (procedure not named) followed by every procedure id."""
        return (None, *(procedure.id for procedure in self.procedures))

    def display_name(self, procedure: object, language: str = DEFAULT_LANGUAGE) -> str | None:
        """Return the name patients are shown for ``procedure`` (any spelling), or None."""
        known = self.get(self.normalise(procedure))
        return known.name(language) if known is not None else None


class _Reader:
    """Collect every problem while reading the procedures file and the clinic's courses."""

    def __init__(self) -> None:
        self.problems: List[Problem] = []

    def problem(self, file: str, message: str, entry: str | None = None, field: str | None = None) -> None:
        self.problems.append(Problem(file, message, entry=entry, field=field))

    def day(self, raw: Mapping[str, Any], key: str, file: str, entry: str, prefix: str) -> int | None:
        value = raw.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.problem(file, "must be a whole number of days, 0 or more", entry, f"{prefix}.{key}")
            return None
        return value

    def step(self, raw: Any, category: str, file: str, entry: str, clinic: bool) -> CourseStep | None:
        prefix = f"course.{category}" if not clinic else category
        if category not in CATEGORIES:
            self.problem(file, f"unknown symptom category (known: {', '.join(CATEGORIES)})", entry, prefix)
            return None
        if not isinstance(raw, dict):
            self.problem(file, "must be a mapping with routine_from (and expected_from/to)", entry, prefix)
            return None
        for key in raw:
            if key not in STEP_KEYS:
                self.problem(file, f"unknown key (allowed: {', '.join(STEP_KEYS)})", entry, f"{prefix}.{key}")
        days = {key: self.day(raw, key, file, entry, prefix) for key in STEP_KEYS[:3]}
        low, high, routine = days["expected_from"], days["expected_to"], days["routine_from"]
        sources, intents = (
            self.names(raw, key, file, entry, f"{prefix}.{key}") for key in ("sources", "intents")
        )
        if routine is None:
            self.problem(
                file,
                "is missing (the day from which triage asks for a check)",
                entry,
                f"{prefix}.routine_from",
            )
            return None
        if (low is None) != (high is None):
            self.problem(file, "give both expected_from and expected_to, or neither", entry, prefix)
            return None
        if low is not None and high is not None and not low <= high < routine:
            self.problem(
                file,
                f"needs expected_from <= expected_to < routine_from (got {low}, {high}, {routine})",
                entry,
                prefix,
            )
            return None
        expected = DayRange(low, high) if low is not None and high is not None else None
        return CourseStep(category, expected, routine, clinic, sources, intents)

    def names(self, raw: Mapping[str, Any], key: str, file: str, entry: str, field: str) -> Tuple[str, ...]:
        value = raw.get(key) or []
        if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
            self.problem(file, "must be a list of names", entry, field)
            return ()
        return tuple(value)

    def course(self, raw: Any, file: str, entry: str, clinic: bool = False) -> Dict[str, CourseStep]:
        if not isinstance(raw, dict):
            self.problem(file, "must be a mapping of symptom category to its course", entry, "course")
            return {}
        steps = {
            category: self.step(value, str(category), file, entry, clinic) for category, value in raw.items()
        }
        return {category: step for category, step in steps.items() if step is not None}

    def check_in_days(self, raw: Any, file: str, entry: str | None) -> Tuple[int, ...]:
        if (
            not isinstance(raw, list)
            or not raw
            or not all(isinstance(day, int) and not isinstance(day, bool) and day >= 0 for day in raw)
        ):
            self.problem(file, "must be a non-empty list of whole days, 0 or more", entry, "check_in_days")
            return ()
        return tuple(sorted(set(raw)))

    def texts(self, raw: Any, file: str, entry: str, key: str) -> Tuple[str, ...]:
        if (
            not isinstance(raw, list)
            or not raw
            or not all(isinstance(item, str) and item.strip() for item in raw)
        ):
            self.problem(file, "must be a non-empty list of text", entry, key)
            return ()
        return tuple(" ".join(item.split()) for item in raw)


def _procedure(
    reader: _Reader,
    raw: Any,
    index: int,
    file: str,
    defaults: Tuple[Course, Tuple[int, ...]],
    clinic: Tuple[Mapping[str, Any] | None, str],
) -> Procedure | None:
    label = str(raw.get("id")) if isinstance(raw, dict) and raw.get("id") else f"#{index + 1}"
    if not isinstance(raw, dict):
        reader.problem(file, "must be a mapping with id, names and spellings", label)
        return None
    for key in raw:
        if key not in PROCEDURE_KEYS:
            reader.problem(file, f"unknown key (allowed: {', '.join(PROCEDURE_KEYS)})", label, str(key))
    procedure_id = raw.get("id")
    if not isinstance(procedure_id, str) or not _ID.match(procedure_id):
        reader.problem(file, "must be lower_snake_case (letters, digits, underscores)", label, "id")
    names = raw.get("names")
    if (
        not isinstance(names, dict)
        or not isinstance(names.get(DEFAULT_LANGUAGE), str)
        or not names[DEFAULT_LANGUAGE].strip()
    ):
        reader.problem(
            file, f"must map languages to names, with '{DEFAULT_LANGUAGE}' at least", label, "names"
        )
        names = {}
    spellings = reader.texts(raw.get("spellings"), file, label, "spellings")
    default_course, default_days = defaults
    check_in = (
        reader.check_in_days(raw["check_in_days"], file, label) if "check_in_days" in raw else default_days
    )
    course = dict(default_course)
    set_by_clinic = raw.get("course") == CLINIC_COURSE
    clinic_courses, clinic_file = clinic
    # A clinic file written before a procedure was added (or a clinic that does not offer it) need
    # not state its course: the procedure then follows the documented course, and starts are never
    # refused for it.
    if set_by_clinic and clinic_courses is not None:
        if isinstance(procedure_id, str) and procedure_id in clinic_courses:
            course.update(reader.course(clinic_courses[procedure_id], clinic_file, procedure_id, clinic=True))
    elif not set_by_clinic and "course" in raw:
        course.update(reader.course(raw["course"], file, label))
    if not isinstance(procedure_id, str) or not names or not spellings:
        return None
    return Procedure(
        id=procedure_id,
        names={str(language): " ".join(str(name).split()) for language, name in names.items()},
        spellings=spellings,
        course=course,
        check_in_days=check_in,
        course_set_by_clinic=set_by_clinic,
    )


def _clashing_spellings(reader: _Reader, procedures: List[Procedure], file: str) -> None:
    owner: Dict[str, str] = {}
    for procedure in procedures:
        for text in (procedure.id, *procedure.names.values(), *procedure.spellings):
            first = owner.setdefault(spelling_key(text), procedure.id)
            if first != procedure.id:
                reader.problem(
                    file, f"spelling '{text}' is also a spelling of '{first}'", procedure.id, "spellings"
                )
    ids = [procedure.id for procedure in procedures]
    for procedure_id in sorted({item for item in ids if ids.count(item) > 1}):
        reader.problem(file, "id is used more than once", procedure_id, "id")


def read_procedures(
    raw: Any,
    file: str,
    clinic_courses: Mapping[str, Any] | None = None,
    clinic_file: str = "clinic file",
) -> Procedures:
    """Validate the parsed procedures file; raise KnowledgeError listing every problem.

    ``clinic_courses`` is the clinic file's ``procedure_courses``; None (clinic unknown) lets a
    ``course: clinic`` procedure follow the documented course instead.
    """
    reader = _Reader()
    if not isinstance(raw, dict):
        raise KnowledgeError([Problem(file, f"must be a mapping with {', '.join(FILE_KEYS)}")])
    for key in raw:
        if key not in FILE_KEYS:
            reader.problem(file, f"unknown top-level key (allowed: {', '.join(FILE_KEYS)})", field=str(key))
    default_course = reader.course(raw.get("course"), file, "course")
    missing = [category for category in CATEGORIES if category not in default_course]
    if missing and "course" in raw:
        reader.problem(file, f"the documented course lacks {', '.join(missing)}", field="course")
    check_in = reader.check_in_days(raw.get("check_in_days"), file, None)
    items = raw.get("procedures")
    if not isinstance(items, list) or not items:
        reader.problem(file, "must be a non-empty list", field="procedures")
        items = []
    if clinic_courses is not None:
        known = {item.get("id") for item in items if isinstance(item, dict)}
        for unknown in sorted(str(key) for key in clinic_courses if key not in known):
            reader.problem(
                clinic_file, f"unknown procedure '{unknown}' (not in {file})", field="procedure_courses"
            )
    procedures = [
        procedure
        for index, item in enumerate(items)
        if (
            procedure := _procedure(
                reader, item, index, file, (default_course, check_in), (clinic_courses, clinic_file)
            )
        )
    ]
    _clashing_spellings(reader, procedures, file)
    if reader.problems:
        raise KnowledgeError(reader.problems)
    return Procedures(default_course, tuple(procedures), check_in)


def load_procedures(
    knowledge_dir: Path, clinic_courses: Mapping[str, Any] | None = None, clinic_file: str = "clinic file"
) -> Procedures:
    """Read ``procedures.yml`` from ``knowledge_dir``, completed with the clinic's courses."""
    path = knowledge_dir / PROCEDURES_FILE
    shown = display_path(path, knowledge_dir.parent)
    return read_procedures(read_yaml(path, shown), shown, clinic_courses, clinic_file)


def procedures_for_clinic(knowledge_dir: Path, clinic: ClinicSettings | None) -> Procedures:
    """Load the procedures with the courses stated in ``clinic`` (a ClinicSettings, or None)."""
    if clinic is None:
        return load_procedures(knowledge_dir)
    return load_procedures(knowledge_dir, clinic.procedure_courses, clinic.source or "clinic file")


@lru_cache(maxsize=1)
def get_procedures() -> Procedures:
    """Return the process-wide procedures, with the configured clinic's courses.

    The triage layer reads these, and must answer even when the clinic file is broken or lacks a
    course (the action server refuses to start then anyway): a ``course: clinic`` procedure then
    follows the documented course, with one logged line.
    """
    settings = process_settings()
    try:
        return procedures_for_clinic(settings.knowledge_dir, get_clinic_settings())
    except KnowledgeError:
        logger.error(
            "Clinic courses unusable (run the validator); clinic-set courses follow the documented one."
        )
    return load_procedures(settings.knowledge_dir)


def normalise_procedure(value: object) -> str | None:
    """Return the id of the procedure ``value`` names, or None when it is not recognised."""
    return get_procedures().normalise(value)
