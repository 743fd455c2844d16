"""knowledge/procedures.yml: one home for each procedure, read by knowledge, triage and NLU."""

from __future__ import annotations

import io
import shutil
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml
from rasa.shared.nlu.training_data.loading import load_data

from bot.cli import main as cli_main
from bot.evaluation.nlu_eval import load_synonyms
from bot.knowledge import KnowledgeError, get_clinic_settings, get_procedures, load_knowledge_base
from bot.knowledge.clinic import load_clinic_file
from bot.knowledge.nlu_sync import NLU_FILE, render_nlu, sync_nlu
from bot.knowledge.procedures import PROCEDURES_FILE, load_procedures, procedures_for_clinic, read_procedures
from bot.settings import PROJECT_ROOT
from bot.triage.config import load_config
from bot.triage.engine import TriageEngine
from bot.triage.levels import Level
from bot.triage.pipeline import Pipeline
from tests.knowledge.conftest import KNOWLEDGE_DIR

SHIPPED_IDS = {"dermapen", "derma_roller", "microneedling", "rf_microneedling"}


def _raw() -> Dict[str, Any]:
    return yaml.safe_load((KNOWLEDGE_DIR / PROCEDURES_FILE).read_text(encoding="utf-8"))


def test_shipped_procedures() -> None:
    procedures = load_procedures(KNOWLEDGE_DIR)
    assert procedures.ids == SHIPPED_IDS
    assert procedures.display_name("derma_roller") == "derma roller"
    assert procedures.get("dermapen").check_in_days == (1, 3, 7)
    assert procedures.check_in_days("RF microneedling") == procedures.check_in_days(None) == (1, 3, 7)
    assert procedures.course(None)["peeling"].routine_from == 14


@pytest.mark.parametrize(
    ("spoken", "canonical"),
    [
        ("Derma Pen", "dermapen"),
        ("derma_roller", "derma_roller"),
        ("Micro-Needling", "microneedling"),
        ("radio frequency microneedling", "rf_microneedling"),
        ("RF Microneedling", "rf_microneedling"),
        ("laser", None),
        (None, None),
    ],
)
def test_any_spelling_names_the_procedure(spoken: str | None, canonical: str | None) -> None:
    assert load_procedures(KNOWLEDGE_DIR).normalise(spoken) == canonical


def test_generated_nlu_file_is_up_to_date() -> None:
    """The NLU synonyms and lookup are generated: run `aftercare knowledge sync-nlu` after editing."""
    text = (PROJECT_ROOT / NLU_FILE).read_text(encoding="utf-8")
    assert text == render_nlu(load_procedures(KNOWLEDGE_DIR)), "run: aftercare knowledge sync-nlu"


def test_rasa_maps_every_spelling_to_the_id() -> None:
    synonyms = load_synonyms(PROJECT_ROOT / NLU_FILE)  # lower-cased, as the synonym mapper looks up
    procedures = load_procedures(KNOWLEDGE_DIR)
    unmapped = [
        (text, procedure.id)
        for procedure in procedures.procedures
        for text in (*procedure.names.values(), *procedure.spellings, procedure.id.upper())
        if synonyms.get(text.lower(), text.lower()) != procedure.id
    ]
    assert unmapped == []


def test_no_procedure_synonym_is_kept_by_hand() -> None:
    hand_kept = {
        value
        for path in (PROJECT_ROOT / "data" / "nlu").glob("*.yml")
        if path.name != NLU_FILE.name
        for value in load_data(str(path)).entity_synonyms.values()
    }
    assert hand_kept.isdisjoint(SHIPPED_IDS)


def test_sync_command_checks_the_shipped_file() -> None:
    with redirect_stdout(io.StringIO()) as out:
        assert cli_main(["knowledge", "sync-nlu", "--check"]) == 0
    assert "up to date" in out.getvalue()


def test_sync_writes_then_reports_up_to_date(tmp_path: Path) -> None:
    (tmp_path / NLU_FILE).parent.mkdir(parents=True)
    procedures = load_procedures(KNOWLEDGE_DIR)
    assert sync_nlu(procedures, tmp_path, check=True) is False
    assert not (tmp_path / NLU_FILE).exists()
    assert sync_nlu(procedures, tmp_path) is False
    assert sync_nlu(procedures, tmp_path) is True


def test_a_procedure_is_added_by_editing_procedures_and_clinic_file_alone(tmp_path: Path) -> None:
    knowledge = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, knowledge)
    raw = _raw()
    raw["procedures"].append(
        {
            "id": "nanoneedling",
            "names": {"en": "nano-needling"},
            "spellings": ["nanoneedling"],
            "course": "clinic",
        }
    )
    (knowledge / PROCEDURES_FILE).write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    clinic = yaml.safe_load((knowledge / "clinic.example.yml").read_text(encoding="utf-8"))
    clinic["procedure_courses"]["nanoneedling"] = {
        "peeling": {"expected_from": 1, "expected_to": 3, "routine_from": 5}
    }
    (knowledge / "clinic.example.yml").write_text(yaml.safe_dump(clinic), encoding="utf-8")

    procedures = procedures_for_clinic(knowledge, load_clinic_file(knowledge / "clinic.example.yml"))
    kb = load_knowledge_base(knowledge, None, procedures)
    assert kb.select("ask_peeling", 5, "Nano-Needling").id == "peeling_prolonged"
    assert kb.select("ask_peeling", 3, "nanoneedling").id == "peeling_expected"
    engine = TriageEngine(Pipeline(load_config(procedures=procedures)))
    assert engine.assess("still peeling", days_since=5, procedure="nanoneedling").level == Level.ROUTINE
    assert engine.assess("still peeling", days_since=5, procedure="dermapen").level == Level.SELF_CARE
    assert "[nano-needling](procedure)" in render_nlu(procedures)


def test_a_clinic_file_without_the_course_keeps_the_documented_one() -> None:
    """A clinic file written before RF microneedling existed still loads (no refused start)."""
    without = read_procedures(_raw(), "knowledge/procedures.yml", {}, "knowledge/clinic.yml")
    documented = read_procedures(_raw(), "knowledge/procedures.yml", None, "knowledge/clinic.yml")
    assert without.course("rf_microneedling") == documented.course("rf_microneedling")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda raw: raw["course"]["peeling"].update(expected_to=20),
            "knowledge/procedures.yml: entry 'course': field 'course.peeling': needs expected_from <= "
            "expected_to < routine_from (got 2, 20, 14)",
        ),
        (
            lambda raw: raw["course"]["peeling"].pop("routine_from"),
            "knowledge/procedures.yml: entry 'course': field 'course.peeling.routine_from': is missing",
        ),
        (
            lambda raw: raw["procedures"][1]["spellings"].append("Derma-Pen"),
            "knowledge/procedures.yml: entry 'derma_roller': field 'spellings': spelling 'Derma-Pen' is "
            "also a spelling of 'dermapen'",
        ),
        (
            lambda raw: raw["procedures"][0].update(check_in_days=[]),
            "knowledge/procedures.yml: entry 'dermapen': field 'check_in_days': must be a non-empty list",
        ),
        (
            lambda raw: raw["procedures"][0].update(id="Derma Pen"),
            "knowledge/procedures.yml: entry 'Derma Pen': field 'id': must be lower_snake_case",
        ),
    ],
)
def test_invalid_procedures_are_refused(change: Any, expected: str) -> None:
    raw = _raw()
    change(raw)
    with pytest.raises(KnowledgeError) as caught:
        read_procedures(raw, "knowledge/procedures.yml", None)
    assert any(str(problem).startswith(expected) for problem in caught.value.problems), caught.value


def test_triage_procedures_survive_a_clinic_file_without_courses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clinic = yaml.safe_load((KNOWLEDGE_DIR / "clinic.example.yml").read_text(encoding="utf-8"))
    del clinic["procedure_courses"]
    (tmp_path / "clinic.yml").write_text(yaml.safe_dump(clinic), encoding="utf-8")
    monkeypatch.setenv("AFTERCARE_CLINIC_FILE", str(tmp_path / "clinic.yml"))
    get_clinic_settings.cache_clear()
    get_procedures.cache_clear()
    try:
        procedures = get_procedures()
    finally:
        get_clinic_settings.cache_clear()
        get_procedures.cache_clear()
    assert procedures.course("rf_microneedling") == procedures.default_course


def test_course_names_are_checked(write_knowledge: Any) -> None:
    raw = _raw()
    raw["course"]["peeling"]["intents"] = ["ask_weather"]
    entry = {"id": "one", "intents": ["ask_peeling"], "answer": "Text.", "sources": ["a.txt"]}
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge_base(write_knowledge(entries=[entry], procedures=raw), {"ask_peeling"})
    messages = {str(problem) for problem in caught.value.problems}
    where = "knowledge/procedures.yml: field 'course.peeling'"
    assert f"{where}: unknown intent 'ask_weather' (not listed in the domain)" in messages
    assert f"{where}: unknown source '000_c9e12835174f2d55.txt' (not listed in sources.yml)" in messages
