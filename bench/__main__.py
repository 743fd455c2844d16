"""``python -m bench`` (``make bench``): ours and stock Rasa side by side; last line is JSON.

Order: train or reuse both models; then, for each repetition, start one assistant, measure
it, stop it, and the same for the other (alternating which goes first, so a machine that
gets busier during the run does not always hurt the same one). Only one assistant runs at
a time. Results go to ``var/bench/results-<time>.json`` and ``var/bench/latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any, Dict, List, Optional

from bench.models import TrainedModel, our_model, stock_model
from bench.report import contract_line, machine, ratios, summarise, table
from bench.runner import Plan, measure
from bench.stacks import RunningStack, start_ours, start_stock
from bot.settings import PROJECT_ROOT


def log(message: str) -> None:
    """Progress goes to stderr; stdout carries the table and the JSON line."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def parse_args(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--repetitions", type=int, default=int(os.environ.get("BENCH_REPETITIONS", "2")))
    parser.add_argument("--quick", action="store_true", help="short load steps, to try the harness")
    parser.add_argument("--only", choices=("ours", "stock"), help="measure one assistant only")
    parser.add_argument("--retrain", action="store_true", help="train our model again to time it")
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "var" / "bench")
    args = parser.parse_args(argv)
    if args.repetitions < 1:
        parser.error("--repetitions must be at least 1")
    return args


def _start(label: str, root: Path, data: Path, models: Dict[str, TrainedModel]) -> RunningStack:
    if label == "ours":
        return start_ours(root, data)
    return start_stock(root, data, models["stock"].path)


def _run_one(label: str, start: Any, plan: Plan, repetition: int) -> Dict[str, Any]:
    stack: RunningStack = start()
    try:
        figures = asyncio.run(measure(stack, plan, repetition))
    finally:
        stack.stop()
    log(
        f"{label} r{repetition}: cold start {figures['cold_start_s']} s, "
        f"{figures['levels']['50']['replies_per_s']} replies/s at 50, "
        f"p95 at 10 {figures['levels']['10']['latency']['p95_ms']} ms"
    )
    return figures


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    root = PROJECT_ROOT
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    load_at_start = [round(x, 2) for x in os.getloadavg()]
    plan = Plan.quick() if args.quick else Plan.full()
    labels = ["ours", "stock"] if args.only is None else [args.only]

    log("models: ours (aftercare train) and stock (Rasa's default config); cached under var/bench/models")
    models: Dict[str, TrainedModel] = {}
    if "ours" in labels:
        models["ours"] = our_model(root, out / "models", retrain=args.retrain)
    if "stock" in labels:
        models["stock"] = stock_model(root, out / "models")
    for label, model in models.items():
        how = "trained now" if model.trained_now else "reused"
        log(f"{label}: {model.path.name} ({how}; training {model.training_s} s)")

    runs: Dict[str, List[Dict[str, Any]]] = {label: [] for label in labels}
    started = time.perf_counter()
    for repetition in range(1, args.repetitions + 1):
        order = labels if repetition % 2 else list(reversed(labels))
        for label in order:
            data = out / f"{label}-r{repetition}"
            shutil.rmtree(data, ignore_errors=True)
            runs[label].append(_run_one(label, partial(_start, label, root, data, models), plan, repetition))

    result: Dict[str, Any] = {
        "load_at_start": load_at_start,
        "plan": "quick" if args.quick else "full",
        "seconds": round(time.perf_counter() - started, 1),
    }
    for label in labels:
        result[label] = summarise(runs[label], models[label].training_s)
        result[label]["model"] = models[label].path.name
        result[label]["training_reused"] = not models[label].trained_now
    for label in ("ours", "stock"):
        result.setdefault(label, {})
    result["ratios"] = ratios(result["ours"], result["stock"])
    result["machine"] = machine()
    result["runs"] = runs
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    target = out / f"results-{stamp}.json"
    result["results_file"] = str(target)
    text = json.dumps(result, indent=2)
    target.write_text(text, encoding="utf-8")
    (out / "latest.json").write_text(text, encoding="utf-8")
    if len(labels) == 2:
        print(table(result))
    print(contract_line(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
