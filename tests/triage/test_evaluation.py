"""The triage evaluation: its figures, its report, and the safety thresholds on our set."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

from bot.evaluation.triage_eval import (
    DEFAULT_EVAL_SET,
    MAX_CLARIFICATION_RATE,
    MAX_OVER_TRIAGE,
    TriageCase,
    TriageReport,
    default_clarifier,
    evaluate,
    format_report,
    load_cases,
    main,
    score,
)
from bot.settings import PROJECT_ROOT
from bot.triage import Level, TriageResult

EVAL_SET = PROJECT_ROOT / DEFAULT_EVAL_SET
# Written blind, apart from the main set, to check that the rules generalise (see its header).
BLIND_SET = PROJECT_ROOT / "eval" / "triage_blind.yml"


@pytest.fixture(scope="module")
def eval_report() -> TriageReport:
    return evaluate(EVAL_SET, repeat=1)


@pytest.fixture(scope="module")
def blind_report() -> TriageReport:
    return evaluate(BLIND_SET, repeat=1)


def test_eval_set_is_large_and_balanced() -> None:
    cases = load_cases(EVAL_SET)
    levels = [case.level for case in cases]
    assert len(cases) >= 300
    assert levels.count(Level.URGENT) >= 60
    assert levels.count(Level.EMERGENCY) >= 30
    assert sum(level < Level.URGENT for level in levels) >= 100
    distinct = {(case.text, case.days_since) for case in cases}
    assert len(distinct) == len(cases), "duplicate cases in the eval set"


def test_red_flag_recall_is_complete(eval_report: TriageReport) -> None:
    assert eval_report.red_flag_recall == 1.0, format_report(eval_report)


def test_emergency_recall_is_complete(eval_report: TriageReport) -> None:
    assert eval_report.emergency_recall == 1.0, format_report(eval_report)


def test_over_triage_is_within_limit(eval_report: TriageReport) -> None:
    assert eval_report.over_triage <= MAX_OVER_TRIAGE, format_report(eval_report)


def test_blind_set_is_large_and_balanced() -> None:
    cases = load_cases(BLIND_SET)
    levels = [case.level for case in cases]
    assert len(cases) >= 150
    assert levels.count(Level.URGENT) >= 70
    assert levels.count(Level.EMERGENCY) >= 35
    assert sum(level < Level.URGENT for level in levels) >= 45
    assert len({(case.text, case.days_since) for case in cases}) == len(cases), "duplicate blind cases"
    main_texts = {case.text.lower() for case in load_cases(EVAL_SET)}
    overlap = [case.text for case in cases if case.text.lower() in main_texts]
    assert not overlap, f"blind cases also in the main set: {overlap}"


def test_blind_set_red_flag_recall_is_complete(blind_report: TriageReport) -> None:
    assert blind_report.red_flag_recall == 1.0, format_report(blind_report)


def test_blind_set_emergency_recall_is_complete(blind_report: TriageReport) -> None:
    assert blind_report.emergency_recall == 1.0, format_report(blind_report)


def test_blind_set_over_triage_is_within_limit(blind_report: TriageReport) -> None:
    assert blind_report.over_triage <= MAX_OVER_TRIAGE, format_report(blind_report)


def _result(level: Level) -> TriageResult:
    return TriageResult(level=level, rule="test.rule" if level != Level.NONE else "")


def test_score_counts_each_figure() -> None:
    cases = [
        TriageCase("a", Level.EMERGENCY),
        TriageCase("b", Level.EMERGENCY),
        TriageCase("c", Level.URGENT),
        TriageCase("d", Level.SELF_CARE),
        TriageCase("e", Level.NONE, days_since=3),
    ]
    predicted = [Level.EMERGENCY, Level.URGENT, Level.SELF_CARE, Level.URGENT, Level.NONE]
    report = score(cases, [_result(level) for level in predicted], [1.0, 2.0, 3.0, 4.0, 10.0])
    assert (report.red_flag_caught, report.red_flag_total) == (2, 3)
    assert (report.emergency_caught, report.emergency_total) == (1, 2)
    assert (report.over_triaged, report.non_urgent_total) == (1, 2)
    assert report.accuracy == pytest.approx(2 / 5)
    assert report.confusion["urgent"]["self_care"] == 1
    assert [miss.text for miss in report.misses] == ["b", "c", "d"]
    assert report.latency_mean_ms == pytest.approx(4.0)
    assert report.latency_p95_ms == 10.0
    assert not report.passed


def test_format_report_shows_figures_matrix_and_misses() -> None:
    cases = [TriageCase("my lips are swollen", Level.EMERGENCY), TriageCase("hello", Level.NONE)]
    report = score(cases, [_result(Level.URGENT), _result(Level.NONE)], [0.5, 0.5], "set.yml")
    text = format_report(report)
    assert "red-flag recall" in text and "100.0 %" in text
    assert "emergency recall" in text and "0.0 %" in text
    assert "Confusion matrix" in text
    assert "expected emergency got urgent" in text and "my lips are swollen" in text
    assert "latency" in text and "ms p95" in text
    assert text.rstrip().endswith("FAILED: safety thresholds not met")


def _write_set(path: Path, text: str, level: str, days: Optional[int] = None) -> Path:
    days_line = f", days_since: {days}" if days is not None else ""
    path.write_text(f'cases:\n  - {{text: "{text}", level: {level}{days_line}}}\n', encoding="utf-8")
    return path


def test_main_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    passing = _write_set(tmp_path / "pass.yml", "my face hurts", "urgent")
    assert main([str(passing), "--repeat", "1"]) == 0
    assert "PASSED" in capsys.readouterr().out
    missed = _write_set(tmp_path / "miss.yml", "hello there", "emergency")
    assert main([str(missed), "--repeat", "1"]) == 1
    assert main([str(tmp_path / "absent.yml")]) == 2


def test_main_writes_json(tmp_path: Path) -> None:
    cases = _write_set(tmp_path / "set.yml", "still peeling", "routine", days=20)
    out = tmp_path / "out" / "figures.json"
    assert main([str(cases), "--repeat", "1", "--json", str(out)]) == 0
    assert '"red_flag_recall": 1.0' in out.read_text(encoding="utf-8")


def test_load_cases_rejects_incomplete_entries(tmp_path: Path) -> None:
    path = tmp_path / "bad.yml"
    path.write_text("cases:\n  - {text: hello}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs 'text' and 'level'"):
        load_cases(path)


def test_score_counts_clarifications_as_neither_miss_nor_over_triage() -> None:
    cases = [
        TriageCase("a", Level.EMERGENCY),
        TriageCase("b", Level.URGENT),
        TriageCase("c", Level.URGENT),
        TriageCase("d", Level.ROUTINE),
        TriageCase("e", Level.NONE),
    ]
    predicted = [Level.SELF_CARE, Level.NONE, Level.URGENT, Level.NONE, Level.NONE]
    asked = ["clarify.detectors_disagree", "clarify.looks_wrong", "", "clarify.something_wrong", ""]
    report = score(cases, [_result(level) for level in predicted], [1.0] * 5, clarified=asked)
    assert (report.red_flag_caught, report.red_flag_clarified, report.red_flag_total) == (1, 2, 3)
    assert report.red_flag_recall_asked == 1.0
    assert (report.emergency_caught, report.emergency_clarified) == (0, 1)
    assert report.emergency_recall_asked == 1.0
    assert (report.non_urgent_clarified, report.non_urgent_total) == (1, 2)
    assert report.clarification_rate == pytest.approx(0.5)
    assert report.over_triaged == 0
    assert not report.passed  # half the non-urgent messages asked about is too many
    assert "[asked: clarify.something_wrong]" in format_report(report)


def test_rules_only_option_scores_without_asking(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    vague = _write_set(tmp_path / "vague.yml", "something is wrong with my face", "urgent")
    assert main([str(vague), "--repeat", "1"]) == 0
    assert main([str(vague), "--repeat", "1", "--rules-only"]) == 1
    assert main(["--screen-heldout"]) == 0
    assert "Red-flag screen on its held-out split" in capsys.readouterr().out


# The fresh batches of issue 14, after the fixes (their first scores are in the README and in
# the commit that added them). They guard against regressions: figures with clarification.
BATCH_FLOORS = {
    "triage_batch_a.yml": {"red_flag": 1.0, "emergency": 1.0},
    "triage_batch_b.yml": {"red_flag": 0.96, "emergency": 0.9},
    "triage_batch_c.yml": {"red_flag": 1.0, "emergency": 0.95},
}


@pytest.mark.parametrize("name", sorted(BATCH_FLOORS))
def test_fresh_batches_after_fix(name: str) -> None:
    path = PROJECT_ROOT / "eval" / name
    cases = load_cases(path)
    assert len(cases) == 150
    assert sum(case.level >= Level.URGENT for case in cases) >= 50
    report = evaluate(path, repeat=1, clarifier=default_clarifier(PROJECT_ROOT, path))
    floors = BATCH_FLOORS[name]
    assert report.red_flag_recall_asked >= floors["red_flag"], format_report(report)
    assert report.emergency_recall_asked >= floors["emergency"], format_report(report)
    assert report.over_triage <= MAX_OVER_TRIAGE, format_report(report)
    assert report.clarification_rate <= MAX_CLARIFICATION_RATE, format_report(report)
