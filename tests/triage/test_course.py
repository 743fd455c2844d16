"""The triage course (from which day a lasting symptom is routine) comes from knowledge/procedures.yml."""

from __future__ import annotations

from typing import Any, Dict

import pytest
import yaml

from bot.knowledge.procedures import PROCEDURES_FILE, read_procedures
from bot.settings import PROJECT_ROOT
from bot.triage import Level, assess
from bot.triage.config import PATTERNS_FILE, TriageConfig, WordsLoader, parse_config

PROCEDURES_PATH = PROJECT_ROOT / "knowledge" / PROCEDURES_FILE


def _procedures_document() -> Dict[str, Any]:
    return yaml.safe_load(PROCEDURES_PATH.read_text(encoding="utf-8"))


def _patterns_document() -> Dict[str, Any]:
    return yaml.load(PATTERNS_FILE.read_text(encoding="utf-8"), Loader=WordsLoader)


def test_course_limits_are_the_procedures_file_course(config: TriageConfig) -> None:
    documented = _procedures_document()["course"]
    assert {category: limit.routine_from_day for category, limit in config.course.items()} == {
        category: step["routine_from"] for category, step in documented.items()
    }
    assert {limit.rule for limit in config.course.values()} <= set(config.rule_ids)


def test_patterns_file_no_longer_holds_a_course() -> None:
    document = _patterns_document()
    assert "course" not in document
    document["course"] = {"peeling": {"routine_from_day": 20, "rule": "peeling.prolonged"}}
    with pytest.raises(ValueError, match="knowledge/procedures.yml"):
        parse_config(document)


def test_an_edited_procedures_file_moves_the_escalation_day() -> None:
    raw = _procedures_document()
    raw["course"]["peeling"].update(expected_to=19, routine_from=20)
    config = parse_config(_patterns_document(), read_procedures(raw, "procedures.yml"))
    assert config.course_for(None)["peeling"].routine_from_day == 20
    assert config.course_for("dermapen")["peeling"].routine_from_day == 20


@pytest.mark.parametrize(
    ("procedure", "day", "level"),
    [
        (None, 13, Level.SELF_CARE),
        (None, 14, Level.ROUTINE),
        ("Dermapen", 14, Level.ROUTINE),
        ("derma roller", 13, Level.SELF_CARE),
        ("rf_microneedling", 9, Level.SELF_CARE),
        ("RF microneedling", 10, Level.ROUTINE),
        ("a laser", 13, Level.SELF_CARE),
        ("a laser", 14, Level.ROUTINE),
    ],
)
def test_the_course_follows_the_procedure(procedure: str | None, day: int, level: Level) -> None:
    result = assess("my skin is still peeling", days_since=day, procedure=procedure)
    assert result.level == level
    if level == Level.ROUTINE:
        assert result.rule == "peeling.prolonged"
