"""The benchmark's summary, ratios, table and the one-line JSON contract of ``make bench``."""

from __future__ import annotations

import json
from typing import Any, Dict, List

from bench.dialogues import KNOWLEDGE, RED_FLAG
from bench.loadgen import LoadResult, Sample
from bench.report import CONTRACT_FIELDS, CONTRACT_RATIOS, contract_line, machine, ratios, summarise, table
from bench.runner import load_figures, long_figures


def _result(concurrency: int, latency_s: float, count: int, elapsed_s: float, errors: int = 0) -> LoadResult:
    result = LoadResult(concurrency, elapsed_s=elapsed_s)
    for index in range(count):
        kind = RED_FLAG if index % 4 == 0 else KNOWLEDGE
        error = "http 500" if index < errors else None
        result.samples.append(Sample(float(index), latency_s, kind, error, kind == RED_FLAG, index + 1))
    return result


def _run(scale: float, cold_start: float) -> Dict[str, Any]:
    """One repetition's figures: ``scale`` times slower than the base latencies."""
    long = LoadResult(1, elapsed_s=10.0)
    for position in range(1, 201):
        long.samples.append(Sample(float(position), 0.02 * scale, KNOWLEDGE, None, False, position))
    return {
        "cold_start_s": cold_start,
        "parse": {"n": 100, "p50_ms": 10.0 * scale, "p95_ms": 20.0 * scale},
        "levels": {
            "1": load_figures(_result(1, 0.02 * scale, 50, 1.0 * scale)),
            "10": load_figures(_result(10, 0.1 * scale, 200, 2.0 * scale)),
            "50": load_figures(_result(50, 0.5 * scale, 400, 4.0 * scale)),
        },
        "long_conversation": long_figures(long),
        "peak_rss_mb": {"rasa": 1000.0 * scale, "actions": 60.0},
    }


def _result_document(ours: List[Dict[str, Any]], stock: List[Dict[str, Any]]) -> Dict[str, Any]:
    document: Dict[str, Any] = {"ours": summarise(ours, 200.0), "stock": summarise(stock, 600.0)}
    document["ratios"] = ratios(document["ours"], document["stock"])
    document["machine"] = machine()
    document["load_at_start"] = [1.0, 1.0, 1.0]
    document["results_file"] = "var/bench/latest.json"
    return document


def test_the_contract_line_is_one_json_object_with_every_field():
    document = _result_document([_run(1.0, 10.0), _run(1.0, 12.0)], [_run(3.0, 30.0), _run(3.0, 30.0)])
    line = contract_line(document)
    assert "\n" not in line
    parsed = json.loads(line)
    for side in ("ours", "stock"):
        assert set(CONTRACT_FIELDS) <= set(parsed[side])
        assert all(isinstance(parsed[side][key], (int, float)) for key in CONTRACT_FIELDS)
    assert set(CONTRACT_RATIOS) <= set(parsed["ratios"])


def test_ratios_are_ours_over_stock_from_the_medians_of_repetitions():
    document = _result_document([_run(1.0, 10.0), _run(1.0, 12.0)], [_run(3.0, 33.0), _run(3.0, 33.0)])
    ours, stock, rates = document["ours"], document["stock"], document["ratios"]
    assert ours["replies_per_s_50"] == 100.0  # 400 replies in 4 s
    assert stock["replies_per_s_50"] == round(400 / 12.0, 2)
    assert rates["throughput_50"] == round(ours["replies_per_s_50"] / stock["replies_per_s_50"], 3)
    assert rates["p95_10"] == round(ours["p95_ms_10"] / stock["p95_ms_10"], 3)
    assert ours["cold_start_s"] == 11.0  # median of 10 and 12
    assert rates["cold_start"] == round(11.0 / 33.0, 3)
    assert rates["training"] == round(200.0 / 600.0, 3)


def test_errors_red_flags_and_peak_memory_add_up_over_repetitions():
    runs = [_run(1.0, 10.0), _run(1.0, 10.0)]
    runs[0]["levels"]["50"] = load_figures(_result(50, 0.5, 400, 4.0, errors=3))
    summary = summarise(runs, None)
    assert summary["errors"] == 3
    escalated, answered = map(int, summary["red_flags_escalated"].split("/"))
    assert escalated == answered > 0
    assert summary["peak_rss_mb"] == {"rasa": 1000.0, "actions": 60.0}
    assert summary["training_s"] is None


def test_the_long_conversation_reports_first_and_last_message():
    summary = summarise([_run(1.0, 10.0)], None)
    assert summary["long_first_ms"] == 20.0
    assert summary["long_last_ms"] == 20.0
    assert summary["long_last10_median_ms"] == 20.0


def test_the_table_shows_both_assistants_and_the_machine():
    document = _result_document([_run(1.0, 10.0)], [_run(3.0, 30.0)])
    text = table(document)
    assert "| replies/s at 50 concurrent | 100.0 |" in text
    assert "peak RSS MB: rasa" in text
    assert "Machine:" in text and "Medians of 1 repetitions" in text
