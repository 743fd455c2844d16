"""Percentiles, summaries and medians of repetitions: plain Python, no numpy needed."""

from __future__ import annotations

import math
from typing import Dict, Iterable, List, Optional, Sequence


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """The ``q``-th percentile (0-100) by linear interpolation; None for no values."""
    if not 0 <= q <= 100:
        raise ValueError("q must be between 0 and 100")
    ordered = sorted(values)
    if not ordered:
        return None
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def median(values: Iterable[Optional[float]]) -> Optional[float]:
    """The median of the values that are not None; None when there are none."""
    present = [value for value in values if value is not None]
    return percentile(present, 50) if present else None


def latency_summary(seconds: Sequence[float]) -> Dict[str, Optional[float]]:
    """p50, p95, p99 and mean in milliseconds, and the count."""
    millis = [value * 1000 for value in seconds]
    mean = sum(millis) / len(millis) if millis else None
    return {
        "n": float(len(millis)),
        "p50_ms": _round(percentile(millis, 50)),
        "p95_ms": _round(percentile(millis, 95)),
        "p99_ms": _round(percentile(millis, 99)),
        "mean_ms": _round(mean),
    }


def ratio(ours: Optional[float], stock: Optional[float]) -> Optional[float]:
    """ours / stock, rounded; None when either is missing or stock is zero."""
    if ours is None or stock is None or stock == 0:
        return None
    return round(ours / stock, 3)


def median_of_runs(runs: List[Dict[str, object]], path: Sequence[str]) -> Optional[float]:
    """The median over repetitions of the number found at ``path`` in each run's result."""
    values: List[Optional[float]] = []
    for run in runs:
        node: object = run
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        values.append(float(node) if isinstance(node, (int, float)) else None)
    return _round(median(values))


def _round(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 2)
