"""Clinic settings: the clinic's own name, numbers and policies that answers refer to.

Answers mention "{clinic_phone}" rather than a number so one knowledge base serves every
clinic; each clinic keeps its values in ``knowledge/clinic.yml`` (the shipped
``clinic.example.yml`` is the fallback and the template to copy).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from bot.knowledge.deadline_policy import DEFAULT_TARGETS, DeadlinePolicy, parse_policy, target_values
from bot.knowledge.errors import KnowledgeError, Problem, fail
from bot.knowledge.yaml_files import display_path, read_yaml
from bot.settings import PROJECT_ROOT, Settings, process_settings

logger = logging.getLogger(__name__)

EXAMPLE_FILE_NAME = "clinic.example.yml"
SHIPPED_EXAMPLE = PROJECT_ROOT / "knowledge" / EXAMPLE_FILE_NAME

# Field name in clinic.yml -> placeholder name usable in answers.
PLACEHOLDERS: Mapping[str, str] = {
    "clinic_name": "clinic_name",
    "phone": "clinic_phone",
    "email": "clinic_email",
    "opening_hours": "opening_hours",
    "emergency_number": "emergency_number",
    "out_of_hours": "out_of_hours",
    "sessions_course": "sessions_course",
    "response_time": "response_time",
    "country": "country",
}

# The response-time targets per level ("30 minutes"), from the optional ``deadlines`` setting.
TARGET_FIELDS = frozenset(f"response_target_{level}" for level in DEFAULT_TARGETS)
TEMPLATE_FIELDS = frozenset(PLACEHOLDERS.values()) | TARGET_FIELDS

# Optional, not a placeholder: the course of treatments no source covers (see procedures.yml),
# checked with the procedures because only they know which treatments need one.
PROCEDURE_COURSES = "procedure_courses"
# Optional, checked by bot.knowledge.deadline_policy: time zone, opening hours as times, response targets.
SERVICE_KEYS = ("timezone", "hours", "deadlines")
# Optional texts a clinic may word itself; without them the shipped wording is used.
# photo_consent: shown before a patient's first photo (bot/media/messages.yml has the default).
OPTIONAL_TEXTS = ("photo_consent",)


@dataclass(frozen=True)
class ClinicSettings:
    """The clinic-specific values that answers and responses are filled in with."""

    clinic_name: str
    phone: str
    email: str
    opening_hours: str
    emergency_number: str
    out_of_hours: str
    sessions_course: str
    response_time: str
    country: str
    source: str = ""
    is_example: bool = False
    procedure_courses: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    deadlines: DeadlinePolicy = field(default_factory=DeadlinePolicy, compare=False, hash=False)
    photo_consent: str = ""

    def as_template_values(self, moment: Optional[datetime] = None) -> Dict[str, str]:
        """Return the placeholder values answers may use, e.g. ``{"clinic_phone": ...}``.

        ``moment``: the response targets as they run then (out of hours they may differ).
        """
        values = {placeholder: getattr(self, name) for name, placeholder in PLACEHOLDERS.items()}
        return {**values, **target_values(self.deadlines, moment)}


_FIELD_NAMES = tuple(PLACEHOLDERS)
ALLOWED_KEYS = (*_FIELD_NAMES, PROCEDURE_COURSES, *SERVICE_KEYS, *OPTIONAL_TEXTS)


def _problems_in(data: object, shown_as: str) -> list[Problem]:
    if not isinstance(data, dict):
        return [Problem(shown_as, "must be a mapping of clinic fields (key: value)")]
    problems = [
        Problem(
            shown_as,
            f"unknown key (allowed: {', '.join(ALLOWED_KEYS)})",
            field=str(key),
        )
        for key in data
        if key not in ALLOWED_KEYS
    ]
    problems += [
        Problem(shown_as, "must be non-empty text when given", field=name)
        for name in OPTIONAL_TEXTS
        if name in data and not (isinstance(data[name], str) and data[name].strip())
    ]
    try:
        parse_policy(*(data.get(key) for key in SERVICE_KEYS))
    except ValueError as error:
        problems.append(Problem(shown_as, str(error), field="deadlines"))
    courses = data.get(PROCEDURE_COURSES, {})
    if not isinstance(courses, dict) or not all(isinstance(course, dict) for course in courses.values()):
        problems.append(
            Problem(shown_as, "must map procedure ids to their course by symptom", field=PROCEDURE_COURSES)
        )
    for name in _FIELD_NAMES:
        value = data.get(name)
        if name not in data:
            problems.append(Problem(shown_as, "is missing", field=name))
        elif not isinstance(value, str):
            problems.append(
                Problem(shown_as, 'must be text; put the value in quotes, e.g. "112"', field=name)
            )
        elif not value.strip():
            problems.append(Problem(shown_as, "must not be empty", field=name))
    return problems


def load_clinic_file(path: Path, shown_as: str | None = None, is_example: bool = False) -> ClinicSettings:
    """Read and validate one clinic settings file."""
    shown = shown_as or path.as_posix()
    data = read_yaml(path, shown)
    problems = _problems_in(data, shown)
    if problems:
        raise KnowledgeError(problems)
    assert isinstance(data, dict)
    values = {name: data[name].strip() for name in _FIELD_NAMES}
    courses = dict(data.get(PROCEDURE_COURSES) or {})
    policy = parse_policy(*(data.get(key) for key in SERVICE_KEYS))
    return ClinicSettings(
        **values,
        source=shown,
        is_example=is_example,
        procedure_courses=courses,
        deadlines=policy,
        photo_consent=" ".join(str(data.get("photo_consent") or "").split()),
    )


def _clinic_file_for(settings: Settings) -> tuple[Path, bool]:
    if settings.clinic_file.is_file():
        return settings.clinic_file, False
    for candidate in (
        settings.knowledge_dir / EXAMPLE_FILE_NAME,
        SHIPPED_EXAMPLE,
    ):
        if candidate.is_file():
            return candidate, True
    raise fail(
        display_path(settings.clinic_file, settings.project_root),
        f"not found, and no {EXAMPLE_FILE_NAME} to fall back to",
    )


def load_clinic_settings(settings: Settings) -> ClinicSettings:
    """Load the clinic's settings, falling back to the example, then apply env overrides.

    The example's phone number is fictional, so outside development a missing clinic file
    is refused rather than risking patients being told to call it.
    """
    path, is_example = _clinic_file_for(settings)
    shown = display_path(path, settings.project_root)
    if is_example:
        if settings.environment == "production":
            raise fail(
                display_path(settings.clinic_file, settings.project_root),
                f"not found; refusing to use the example clinic ({shown}) in production",
            )
        logger.warning("Clinic file %s not found; using the example clinic %s", settings.clinic_file, shown)
    clinic = load_clinic_file(path, shown_as=shown, is_example=is_example)
    overrides: Dict[str, Any] = settings.clinic.as_fields()
    return replace(clinic, **overrides) if overrides else clinic


@lru_cache(maxsize=1)
def get_clinic_settings() -> ClinicSettings:
    """Return the process-wide clinic settings, loaded on first use."""
    return load_clinic_settings(process_settings())
