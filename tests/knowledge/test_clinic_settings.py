"""Clinic settings: the clinic's file, the example fallback, and environment overrides."""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import Dict

import pytest
import yaml

from bot.knowledge import ClinicSettings, KnowledgeError, load_clinic_settings
from bot.knowledge.clinic import PLACEHOLDERS, TEMPLATE_FIELDS, load_clinic_file
from bot.settings import PROJECT_ROOT, Settings

EXAMPLE = PROJECT_ROOT / "knowledge" / "clinic.example.yml"


def _clinic_values(**changes: object) -> Dict[str, object]:
    values = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    values.update(changes)
    return values


def _settings(tmp_path: Path, clinic_yml: Dict[str, object] | None = None, **extra: str) -> Settings:
    knowledge = tmp_path / "knowledge"
    knowledge.mkdir(exist_ok=True)
    if clinic_yml is not None:
        (knowledge / "clinic.yml").write_text(yaml.safe_dump(clinic_yml), encoding="utf-8")
    return replace(
        Settings.from_env(extra),
        project_root=tmp_path,
        knowledge_dir=knowledge,
        clinic_file=knowledge / "clinic.yml",
    )


def test_example_clinic_is_complete(example_clinic: ClinicSettings) -> None:
    values = example_clinic.as_template_values()
    assert set(values) == TEMPLATE_FIELDS
    assert all(value.strip() for value in values.values())
    assert values["clinic_phone"] == example_clinic.phone


def test_placeholder_table_covers_every_clinic_field() -> None:
    assert {f.name for f in fields(ClinicSettings)} - {
        "source",
        "is_example",
        "procedure_courses",
        "deadlines",
        "photo_consent",  # optional wording, not a placeholder answers use
    } == set(PLACEHOLDERS)


def test_clinic_file_is_preferred(tmp_path: Path) -> None:
    clinic = load_clinic_settings(_settings(tmp_path, _clinic_values(clinic_name="Harbour Skin")))
    assert (clinic.clinic_name, clinic.is_example, clinic.source) == (
        "Harbour Skin",
        False,
        "knowledge/clinic.yml",
    )


def test_missing_clinic_file_falls_back_to_the_example(tmp_path: Path) -> None:
    clinic = load_clinic_settings(_settings(tmp_path))
    assert clinic.is_example
    assert clinic == load_clinic_file(EXAMPLE, shown_as=clinic.source, is_example=True)


def test_example_is_refused_in_production(tmp_path: Path) -> None:
    settings = Settings(
        project_root=tmp_path,
        knowledge_dir=tmp_path,
        clinic_file=tmp_path / "clinic.yml",
        environment="production",
    )
    with pytest.raises(KnowledgeError, match="refusing to use the example clinic"):
        load_clinic_settings(settings)


def test_environment_overrides_single_fields(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        _clinic_values(),
        AFTERCARE_CLINIC_NAME="Lakeside Clinic",
        AFTERCARE_CLINIC_PHONE="+1 555 0100",
        AFTERCARE_EMERGENCY_NUMBER="911",
    )
    clinic = load_clinic_settings(settings)
    assert (clinic.clinic_name, clinic.phone, clinic.emergency_number) == (
        "Lakeside Clinic",
        "+1 555 0100",
        "911",
    )
    assert clinic.email == _clinic_values()["email"]


def test_empty_override_is_ignored(tmp_path: Path) -> None:
    clinic = load_clinic_settings(_settings(tmp_path, _clinic_values(), AFTERCARE_CLINIC_NAME="  "))
    assert clinic.clinic_name == _clinic_values()["clinic_name"]


def test_overrides_come_from_the_environment_via_settings(tmp_path: Path) -> None:
    env = {"AFTERCARE_KNOWLEDGE_DIR": str(tmp_path), "AFTERCARE_EMERGENCY_NUMBER": "112"}
    clinic = load_clinic_settings(Settings.from_env(env))
    assert clinic.emergency_number == "112" and clinic.is_example


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"phone": 1234567}, "phone", "must be text"),
        ({"emergency_number": 112}, "emergency_number", "put the value in quotes"),
        ({"clinic_name": " "}, "clinic_name", "must not be empty"),
        ({"fax": "123"}, "fax", "unknown key"),
        ({"email": None}, "email", "must be text"),
    ],
)
def test_invalid_clinic_file_is_refused(
    tmp_path: Path, changes: Dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(KnowledgeError) as caught:
        load_clinic_settings(_settings(tmp_path, _clinic_values(**changes)))
    (problem,) = caught.value.problems
    assert (problem.file, problem.field) == ("knowledge/clinic.yml", field)
    assert message in problem.message


def test_missing_field_is_named(tmp_path: Path) -> None:
    values = _clinic_values()
    del values["sessions_course"]
    with pytest.raises(KnowledgeError, match="knowledge/clinic.yml: field 'sessions_course': is missing"):
        load_clinic_settings(_settings(tmp_path, values))


def test_missing_clinic_and_example_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("bot.knowledge.clinic.SHIPPED_EXAMPLE", tmp_path / "absent.yml")
    with pytest.raises(KnowledgeError, match="knowledge/clinic.yml: not found, and no clinic.example.yml"):
        load_clinic_settings(_settings(tmp_path))
