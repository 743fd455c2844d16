"""The patterns file is read strictly: its shape is checked when it is loaded."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, Callable, Dict

import pytest
import yaml

from bot.triage.config import PATTERNS_FILE, TriageConfig, WordsLoader, load_config, parse_config
from bot.triage.levels import Level
from bot.triage.pipeline import Pipeline


def _raw_document() -> Dict[str, Any]:
    return yaml.load(PATTERNS_FILE.read_text(encoding="utf-8"), Loader=WordsLoader)


def test_packaged_patterns_load(config: TriageConfig) -> None:
    assert config.rules
    assert {rule.level for rule in config.rules} >= set(Level) - {Level.NONE}
    assert len(set(config.rule_ids)) == len(config.rule_ids)


def test_yes_no_on_off_stay_words(tmp_path: Path) -> None:
    document = _raw_document()
    document["context"]["negation"]["particles"] = ["no", "not"]
    path = tmp_path / "patterns.yml"
    path.write_text(yaml.safe_dump(document).replace("- 'no'", "- no"), encoding="utf-8")
    assert "- no\n" in path.read_text(encoding="utf-8")
    assert load_config(path).context["negation"]["particles"] == ["no", "not"]


def _break_rule_match(document: Dict[str, Any]) -> None:
    document["rules"][0].pop("near", None)
    document["rules"][0].pop("match", None)


def _unknown_level(document: Dict[str, Any]) -> None:
    document["rules"][0]["level"] = "critical"


def _duplicate_id(document: Dict[str, Any]) -> None:
    document["rules"][1]["id"] = document["rules"][0]["id"]


def _unknown_combination_rule(document: Dict[str, Any]) -> None:
    document["combinations"][0]["all_of"] = [["no.such.rule"]]


def _bad_expression(document: Dict[str, Any]) -> None:
    document["rules"][0]["match"] = [42]


def _near_without_companion(document: Dict[str, Any]) -> None:
    document["rules"][0]["near"] = [{"symptom": ["swollen"], "window": 3}]


@pytest.mark.parametrize(
    "breakage",
    [
        _break_rule_match,
        _unknown_level,
        _duplicate_id,
        _unknown_combination_rule,
        _bad_expression,
        _near_without_companion,
    ],
)
def test_malformed_patterns_are_rejected(breakage: Callable[[Dict[str, Any]], None]) -> None:
    document = copy.deepcopy(_raw_document())
    breakage(document)
    with pytest.raises((ValueError, KeyError)):
        parse_config(document)


def test_multi_word_near_entries_are_rejected() -> None:
    document = copy.deepcopy(_raw_document())
    document["rules"][0]["near"][0]["with"] = ["upper lip"]
    with pytest.raises(ValueError, match="single token"):
        Pipeline(parse_config(document))


def test_a_repeated_key_fails_loudly(tmp_path: Path) -> None:
    text = PATTERNS_FILE.read_text(encoding="utf-8")
    path = tmp_path / "patterns.yml"
    path.write_text(text.replace("version: 1\n", "version: 1\nversion: 1\n", 1), encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate key 'version'"):
        load_config(path)
