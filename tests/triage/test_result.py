"""The assessment result: spans, explanations and its JSON form."""

from __future__ import annotations

import json

from bot.triage import Finding, Level, TriageResult, assess


def test_findings_carry_spans_into_the_original_text() -> None:
    text = "Day 3. NO fever, but my LIPS are Swollen and it HURTS!"
    result = assess(text)
    assert result.level == Level.EMERGENCY
    assert result.rule == "allergy.airway_swelling"
    for finding in result.findings + result.negated:
        assert text[finding.start : finding.end] == finding.text
    assert [finding.text for finding in result.findings] == ["LIPS are Swollen", "HURTS"]
    assert [(finding.text, finding.status) for finding in result.negated] == [("fever", "negated")]


def test_red_flags_are_the_findings_from_urgent_up() -> None:
    result = assess("my face is red and it hurts")
    assert [finding.category for finding in result.findings] == ["redness", "pain"]
    assert [finding.category for finding in result.red_flags] == ["pain"]
    assert result.deciding_finding is not None and result.deciding_finding.category == "pain"


def test_to_dict_is_json_serialisable() -> None:
    result = assess("no fever, just peeling and a bit of swelling", days_since=3)
    payload = json.loads(json.dumps(result.to_dict()))
    assert payload["level"] == "self_care"
    assert payload["rule"] == "peeling.normal"
    assert payload["topics"] == ["peeling", "swelling"]
    assert payload["days_since"] == 3
    assert payload["negated"][0] == {
        "category": "fever",
        "level": "urgent",
        "text": "fever",
        "start": 3,
        "end": 8,
        "rule": "fever.word",
        "status": "negated",
    }
    assert payload["red_flags"] == []


def test_stated_duration_is_reported_as_days_since() -> None:
    assert assess("still peeling after 3 weeks").days_since == 21
    assert assess("still peeling after 3 weeks", days_since=30).days_since == 30
    assert assess("hello", days_since=4).days_since == 4


def test_empty_result_defaults() -> None:
    result = TriageResult()
    assert result.level == Level.NONE and result.rule == "" and result.red_flags == []
    assert result.deciding_finding is None
    assert result.to_dict()["findings"] == []


def test_finding_to_dict_uses_level_value() -> None:
    finding = Finding("pain", Level.URGENT, "hurts", 3, 8, "pain.word")
    assert finding.to_dict()["level"] == "urgent"
    assert finding.status == "asserted"


def test_assessment_is_deterministic() -> None:
    text = "not sure if it's a fever but I have chills and my skin is peeling"
    assert assess(text).to_dict() == assess(text).to_dict()
