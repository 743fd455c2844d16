"""Percentiles, medians and ratios the benchmark reports."""

from __future__ import annotations

import pytest

from bench.stats import latency_summary, median, median_of_runs, percentile, ratio


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 95, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 0, 1.0),
        ([4.0, 1.0, 3.0, 2.0], 100, 4.0),
        (list(map(float, range(1, 101))), 95, 95.05),
    ],
)
def test_percentile_interpolates_between_ordered_values(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_of_nothing_is_none_and_q_is_checked():
    assert percentile([], 50) is None
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_median_ignores_missing_values():
    assert median([None, 3.0, 1.0, None, 2.0]) == 2.0
    assert median([None, None]) is None


def test_latency_summary_is_in_milliseconds():
    summary = latency_summary([0.010, 0.020, 0.030])
    assert summary["n"] == 3
    assert summary["p50_ms"] == pytest.approx(20.0)
    assert summary["mean_ms"] == pytest.approx(20.0)
    assert latency_summary([])["p95_ms"] is None


def test_ratio_is_ours_over_stock_and_none_when_undefined():
    assert ratio(90.0, 30.0) == 3.0
    assert ratio(None, 30.0) is None
    assert ratio(10.0, 0.0) is None


def test_median_of_runs_follows_a_path_and_skips_runs_without_it():
    runs = [{"a": {"b": 1.0}}, {"a": {"b": 5.0}}, {"a": {}}, {"a": {"b": 3.0}}]
    assert median_of_runs(runs, ("a", "b")) == 3.0
    assert median_of_runs(runs, ("a", "missing")) is None
