"""Turn repetitions into the summary (medians), the ratios, the table and the JSON contract.

The last line ``make bench`` prints is one JSON object with at least ``ours`` and ``stock``
(each with ``replies_per_s_50``, ``p95_ms_10``, ``p50_ms_1``, ``cold_start_s``) and
``ratios`` (``throughput_50``, ``p95_10``, ``cold_start``: ours / stock). Tools outside the
repository rely on those names.
"""

from __future__ import annotations

import json
import os
import platform
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from bench.stats import median_of_runs, ratio

CONTRACT_FIELDS = ("replies_per_s_50", "p95_ms_10", "p50_ms_1", "cold_start_s")
CONTRACT_RATIOS = {
    "throughput_50": "replies_per_s_50",
    "p95_10": "p95_ms_10",
    "cold_start": "cold_start_s",
}
EXTRA_RATIOS = {"p50_1": "p50_ms_1", "parse_p50": "parse_p50_ms", "training": "training_s"}
LEVELS = ("1", "10", "50")


def summarise(runs: List[Dict[str, Any]], training_s: Optional[float]) -> Dict[str, Any]:
    """Medians over repetitions of every headline figure of one assistant."""
    summary: Dict[str, Any] = {"repetitions": len(runs)}
    for level in LEVELS:
        summary[f"replies_per_s_{level}"] = median_of_runs(runs, ("levels", level, "replies_per_s"))
        for stat in ("p50", "p95", "p99"):
            summary[f"{stat}_ms_{level}"] = median_of_runs(runs, ("levels", level, "latency", f"{stat}_ms"))
    rates = [summary[f"replies_per_s_{level}"] for level in LEVELS]
    summary["replies_per_s_saturation"] = max((r for r in rates if r is not None), default=None)
    summary["cold_start_s"] = median_of_runs(runs, ("cold_start_s",))
    summary["parse_p50_ms"] = median_of_runs(runs, ("parse", "p50_ms"))
    summary["parse_p95_ms"] = median_of_runs(runs, ("parse", "p95_ms"))
    summary["training_s"] = training_s
    for key in ("first_ms", "last_ms", "first10_median_ms", "last10_median_ms"):
        summary[f"long_{key}"] = median_of_runs(runs, ("long_conversation", key))
    for kind in ("red_flag", "knowledge", "chitchat", "greeting"):
        summary[f"p95_ms_50_{kind}"] = median_of_runs(runs, ("levels", "50", "by_kind", kind, "p95_ms"))
    summary["errors"] = sum(_errors(run) for run in runs)
    answered = sum(run["levels"][level]["red_flags_answered"] for run in runs for level in LEVELS)
    escalated = sum(run["levels"][level]["red_flags_escalated"] for run in runs for level in LEVELS)
    summary["red_flags_escalated"] = f"{escalated}/{answered}"
    peaks: Dict[str, float] = {}
    for run in runs:
        for name, mb in run.get("peak_rss_mb", {}).items():
            peaks[name] = max(peaks.get(name, 0.0), mb)
    summary["peak_rss_mb"] = peaks
    return summary


def _errors(run: Dict[str, Any]) -> int:
    return sum(int(run["levels"][level]["errors"]) for level in LEVELS) + int(
        run.get("long_conversation", {}).get("errors", 0)
    )


def ratios(ours: Dict[str, Any], stock: Dict[str, Any]) -> Dict[str, Optional[float]]:
    """ours / stock for the contract's ratios and a few more."""
    return {
        name: ratio(ours.get(key), stock.get(key))
        for name, key in {**CONTRACT_RATIOS, **EXTRA_RATIOS}.items()
    }


def machine() -> Dict[str, Any]:
    """What the figures were measured on (the machine is shared: load averages say how busy)."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gb = None
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory_gb = round(kb / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    import rasa

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": memory_gb,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "rasa": rasa.__version__,
        "platform": platform.platform(),
    }


def contract_line(result: Dict[str, Any]) -> str:
    """The one-line JSON object ``make bench`` ends with."""
    line = {
        "ours": {key: result["ours"].get(key) for key in CONTRACT_FIELDS},
        "stock": {key: result["stock"].get(key) for key in CONTRACT_FIELDS},
        "ratios": {key: result["ratios"].get(key) for key in CONTRACT_RATIOS},
        "errors": {"ours": result["ours"].get("errors"), "stock": result["stock"].get("errors")},
        "results_file": result.get("results_file"),
    }
    return json.dumps(line, sort_keys=False)


ROWS: Sequence[tuple] = (
    ("replies/s at 50 concurrent", "replies_per_s_50", "throughput_50"),
    ("replies/s at 10 concurrent", "replies_per_s_10", None),
    ("replies/s at 1", "replies_per_s_1", None),
    ("replies/s at saturation (max)", "replies_per_s_saturation", None),
    ("REST p50 / p95 / p99 ms at 1", ("p50_ms_1", "p95_ms_1", "p99_ms_1"), "p50_1"),
    ("REST p50 / p95 / p99 ms at 10", ("p50_ms_10", "p95_ms_10", "p99_ms_10"), "p95_10"),
    ("REST p50 / p95 / p99 ms at 50", ("p50_ms_50", "p95_ms_50", "p99_ms_50"), None),
    ("red-flag turns p95 ms at 50", "p95_ms_50_red_flag", None),
    ("knowledge turns p95 ms at 50", "p95_ms_50_knowledge", None),
    ("/model/parse p50 / p95 ms", ("parse_p50_ms", "parse_p95_ms"), "parse_p50"),
    ("cold start s (launch to first reply)", "cold_start_s", "cold_start"),
    ("training s", "training_s", "training"),
    ("long conversation: 1st / 200th message ms", ("long_first_ms", "long_last_ms"), None),
    (
        "long conversation: median of first / last 10 ms",
        ("long_first10_median_ms", "long_last10_median_ms"),
        None,
    ),
    ("errors", "errors", None),
    ("red-flag turns escalated", "red_flags_escalated", None),
)


def _cell(summary: Dict[str, Any], keys: Any) -> str:
    if isinstance(keys, tuple):
        return " / ".join(_fmt(summary.get(key)) for key in keys)
    return _fmt(summary.get(keys))


def _fmt(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.2f}"
    return str(value)


def table(result: Dict[str, Any]) -> str:
    """The side-by-side markdown table, with peak RSS per process and the machine."""
    ours, stock, rates = result["ours"], result["stock"], result["ratios"]
    lines = ["| figure | ours | stock Rasa | ours/stock |", "| --- | --- | --- | --- |"]
    for label, keys, ratio_name in ROWS:
        shown = _fmt(rates.get(ratio_name)) if ratio_name else ""
        lines.append(f"| {label} | {_cell(ours, keys)} | {_cell(stock, keys)} | {shown} |")
    for name in sorted(set(ours["peak_rss_mb"]) | set(stock["peak_rss_mb"])):
        lines.append(
            f"| peak RSS MB: {name} | {_fmt(ours['peak_rss_mb'].get(name))} | "
            f"{_fmt(stock['peak_rss_mb'].get(name))} | |"
        )
    info = result["machine"]
    lines.append("")
    lines.append(
        f"Machine: {info['cpus']} CPUs ({info['cpu_model']}), {info['memory_gb']} GB, "
        f"Python {info['python']}, Rasa {info['rasa']}; load average at start "
        f"{result.get('load_at_start')}, at end {info['load_average']}. "
        f"Medians of {ours['repetitions']} repetitions."
    )
    return "\n".join(lines)
