"""Run the table of sentences in cases.yml through the triage engine."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from bot.triage import Level, assess
from bot.triage.config import TriageConfig
from tests.triage.case_table import load_cases

CASES = load_cases()


def _case_id(case: Dict[str, Any]) -> str:
    return f"{case['section']}: {case['text'][:60]}"


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_case(case: Dict[str, Any]) -> None:
    result = assess(case["text"], case.get("days_since"))
    explanation = result.to_dict()
    assert result.level == Level.parse(case["level"]), explanation
    if "rule" in case:
        assert result.rule == case["rule"], explanation
    if "negated" in case:
        assert set(case["negated"]) <= {finding.rule for finding in result.negated}, explanation
    if "topics" in case:
        assert result.topics == set(case["topics"]), explanation


def test_every_rule_decides_at_least_one_case(config: TriageConfig) -> None:
    covered = {case["rule"] for case in CASES if "rule" in case}
    # A level-none rule never decides; it only feeds combinations, and each must feed one.
    feeding = {
        rule_id for combination in config.combinations for group in combination.all_of for rule_id in group
    }
    for rule in config.rules:
        if rule.level == Level.NONE:
            assert rule.id in feeding, f"{rule.id} decides nothing and feeds no combination"
            covered.add(rule.id)
    missing = sorted(set(config.rule_ids) - covered)
    assert not missing, f"rules without a case in cases.yml: {missing}"


def test_normal_temperature_rule_has_a_case(config: TriageConfig) -> None:
    normal_rule = config.temperature["normal_rule"]
    assert any(normal_rule in case.get("negated", []) for case in CASES)


def test_cases_cover_every_level() -> None:
    assert {Level.parse(case["level"]) for case in CASES} == set(Level)
