"""Measure the triage safety layer on a labelled set of patient messages.

Why: the triage rules decide who is told to call a doctor or emergency services, so their
recall on red flags and their over-triage must be known figures, checked on every change.
Reports red-flag recall (gold urgent/emergency predicted urgent or higher), emergency recall,
over-triage (gold below urgent predicted urgent or higher, as a share of gold below urgent),
accuracy, a confusion matrix, every miss, and the latency per message (mean and p95).

With clarification (the default; ``--rules-only`` turns it off), a message the assistant would
answer with the safety questions (:mod:`bot.triage.clarify`, rule ``clarify.*``) counts neither as
over-triage nor as a miss: a red flag asked about is caught, and the share of non-urgent messages
asked about is reported as the clarification rate. The learned screen used for it is trained
from the project's data minus the set being scored (:mod:`bot.triage.screen`).

Run as ``aftercare eval triage`` or ``python -m bot.evaluation.triage_eval [PATH]``. The exit
code is 1 when red-flag recall or emergency recall is below 100 % or over-triage is above 5 %.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

import yaml

from bot.evaluation.common import share
from bot.settings import Settings
from bot.triage import Level, TriageResult, assess
from bot.triage.clarify import decide
from bot.triage.screen import ScreenModel, ScreenReport, score_screen, split_examples, train_for

DEFAULT_EVAL_SET = "eval/triage_eval.yml"

#: Safety thresholds the exit code enforces.
REQUIRED_RED_FLAG_RECALL = 1.0
REQUIRED_EMERGENCY_RECALL = 1.0
MAX_OVER_TRIAGE = 0.05
MAX_CLARIFICATION_RATE = 0.10

#: Returns the ``clarify.*`` rule when the assistant would ask the safety questions, else "".
Clarifier = Callable[[str, TriageResult], str]


@dataclass(frozen=True)
class TriageCase:
    """One labelled message."""

    text: str
    level: Level
    days_since: Optional[int] = None


@dataclass(frozen=True)
class Miss:
    """A case whose predicted level differs from its label."""

    text: str
    expected: str
    predicted: str
    rule: str
    days_since: Optional[int] = None
    clarified: str = ""


@dataclass
class TriageReport:
    """Figures for one run over an evaluation set."""

    path: str
    total: int
    correct: int
    red_flag_total: int
    red_flag_caught: int
    emergency_total: int
    emergency_caught: int
    non_urgent_total: int
    over_triaged: int
    latency_mean_ms: float
    latency_p95_ms: float
    confusion: Dict[str, Dict[str, int]] = field(default_factory=dict)
    misses: List[Miss] = field(default_factory=list)
    red_flag_clarified: int = 0
    emergency_clarified: int = 0
    non_urgent_clarified: int = 0

    @property
    def accuracy(self) -> float:
        """Return the share of cases whose level was predicted exactly."""
        return share(self.correct, self.total)

    @property
    def red_flag_recall(self) -> float:
        """Return the share of gold urgent/emergency cases predicted urgent or higher."""
        return share(self.red_flag_caught, self.red_flag_total)

    @property
    def emergency_recall(self) -> float:
        """Return the share of gold emergency cases predicted emergency."""
        return share(self.emergency_caught, self.emergency_total)

    @property
    def over_triage(self) -> float:
        """Return the share of gold non-urgent cases predicted urgent or higher."""
        return share(self.over_triaged, self.non_urgent_total, when_empty=0.0)

    @property
    def red_flag_recall_asked(self) -> float:
        """Return the share of gold red flags escalated by the rules or asked about."""
        caught = self.red_flag_caught + self.red_flag_clarified
        return share(caught, self.red_flag_total)

    @property
    def emergency_recall_asked(self) -> float:
        """Return the share of gold emergencies escalated as emergencies or asked about."""
        caught = self.emergency_caught + self.emergency_clarified
        return share(caught, self.emergency_total)

    @property
    def clarification_rate(self) -> float:
        """Return the share of gold non-urgent messages answered with the safety questions."""
        return share(self.non_urgent_clarified, self.non_urgent_total, when_empty=0.0)

    @property
    def passed(self) -> bool:
        """Tell whether the run meets every safety threshold (a red flag asked about is caught)."""
        return (
            self.red_flag_recall_asked >= REQUIRED_RED_FLAG_RECALL
            and self.emergency_recall_asked >= REQUIRED_EMERGENCY_RECALL
            and self.over_triage <= MAX_OVER_TRIAGE
            and self.clarification_rate <= MAX_CLARIFICATION_RATE
        )

    def to_dict(self) -> Dict[str, Any]:
        """Return the figures as a JSON-serialisable dict."""
        payload = asdict(self)
        payload.update({name: getattr(self, name) for name in DERIVED_FIGURES})
        return payload


# The properties of TriageReport that ``to_dict`` adds to its counted fields.
DERIVED_FIGURES = (
    "accuracy",
    "red_flag_recall",
    "emergency_recall",
    "over_triage",
    "red_flag_recall_asked",
    "emergency_recall_asked",
    "clarification_rate",
    "passed",
)


def load_cases(path: Path) -> List[TriageCase]:
    """Read ``cases:`` (text, level, optional days_since) from an evaluation YAML file."""
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    cases = []
    for index, item in enumerate(document.get("cases") or []):
        if "text" not in item or "level" not in item:
            raise ValueError(f"{path}: case {index} needs 'text' and 'level'")
        days = item.get("days_since")
        text = str(item["text"] or "")
        cases.append(TriageCase(text, Level.parse(item["level"]), None if days is None else int(days)))
    return cases


def score(
    cases: Sequence[TriageCase],
    results: Sequence[TriageResult],
    latencies_ms: Sequence[float],
    path: str = "",
    clarified: Optional[Sequence[str]] = None,
) -> TriageReport:
    """Compare predicted levels with the labels and collect the figures.

    ``clarified`` holds, per case, the ``clarify.*`` rule when the assistant asks the safety
    questions instead of answering (or ""); such a case is neither a miss nor over-triage.
    """
    levels = [level.value for level in Level]
    confusion = {gold: {guess: 0 for guess in levels} for gold in levels}
    report = TriageReport(path, len(cases), 0, 0, 0, 0, 0, 0, 0, 0.0, 0.0, confusion)
    asked_rules = list(clarified) if clarified is not None else [""] * len(cases)
    for case, result, asked in zip(cases, results, asked_rules, strict=True):
        gold, guess = case.level, result.level
        confusion[gold.value][guess.value] += 1
        if gold == guess:
            report.correct += 1
        else:
            report.misses.append(
                Miss(case.text, gold.value, guess.value, result.rule, case.days_since, asked)
            )
        if gold >= Level.URGENT:
            report.red_flag_total += 1
            report.red_flag_caught += guess >= Level.URGENT
            report.red_flag_clarified += bool(asked) and guess < Level.URGENT
        else:
            report.non_urgent_total += 1
            report.over_triaged += guess >= Level.URGENT
            report.non_urgent_clarified += bool(asked)
        if gold == Level.EMERGENCY:
            report.emergency_total += 1
            report.emergency_caught += guess == Level.EMERGENCY
            report.emergency_clarified += bool(asked) and guess < Level.EMERGENCY
    if latencies_ms:
        ordered = sorted(latencies_ms)
        report.latency_mean_ms = statistics.fmean(ordered)
        report.latency_p95_ms = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return report


def evaluate(
    path: Path | str,
    repeat: int = 3,
    assessor: Callable[[str, Optional[int]], TriageResult] = assess,
    clarifier: Optional[Clarifier] = None,
) -> TriageReport:
    """Assess every case of the set at ``path``; latency is timed over ``repeat`` passes.

    With a ``clarifier``, cases it would ask about are counted as asked (see :func:`score`).
    """
    cases = load_cases(Path(path))
    assessor("warm up", None)
    results: List[TriageResult] = []
    latencies: List[float] = []
    for attempt in range(max(repeat, 1)):
        for case in cases:
            started = time.perf_counter()
            result = assessor(case.text, case.days_since)
            latencies.append((time.perf_counter() - started) * 1000.0)
            if attempt == 0:
                results.append(result)
    clarified = (
        [clarifier(case.text, result) for case, result in zip(cases, results, strict=True)]
        if clarifier
        else None
    )
    return score(cases, results, latencies, str(path), clarified)


@lru_cache(maxsize=8)
def _screen_without(root: Path, scored: Path) -> Optional[ScreenModel]:
    return train_for(root, exclude=[scored])


def default_clarifier(root: Path, scored: Path) -> Clarifier:
    """Return the assistant's clarification decision, its screen trained without the ``scored`` set."""
    model = _screen_without(root.resolve(), Path(scored).resolve())

    def clarifier(text: str, result: TriageResult) -> str:
        probability = model.probability(text) if model is not None else None
        return decide(text, result, probability).rule

    return clarifier


def format_screen(report: ScreenReport) -> str:
    """Render the learned screen's own held-out figures."""
    return (
        f"Red-flag screen on its held-out split ({report.total} messages, {report.red_flags} red flags, "
        f"confident from {report.threshold:.2f}):\n"
        + _figure("recall", report.recall, report.true_positives, report.red_flags)
        + "\n"
        + _figure(
            "precision",
            report.precision,
            report.true_positives,
            report.true_positives + report.false_positives,
        )
    )


def _percent(value: float) -> str:
    return f"{100.0 * value:.1f} %"


def _figure(name: str, value: float, count: int, total: int) -> str:
    return f"{name:<17} {_percent(value):>8}  ({count}/{total})"


def format_report(report: TriageReport) -> str:
    """Render the figures, the confusion matrix and the misses as plain text."""
    mark = {True: "ok", False: "FAIL"}
    lines = [
        f"Triage evaluation: {report.path} ({report.total} messages)",
        "",
        _figure("red-flag recall", report.red_flag_recall, report.red_flag_caught, report.red_flag_total)
        + f"  {mark[report.red_flag_recall >= REQUIRED_RED_FLAG_RECALL]}",
        _figure("emergency recall", report.emergency_recall, report.emergency_caught, report.emergency_total)
        + f"  {mark[report.emergency_recall >= REQUIRED_EMERGENCY_RECALL]}",
        _figure("over-triage", report.over_triage, report.over_triaged, report.non_urgent_total)
        + f"  {mark[report.over_triage <= MAX_OVER_TRIAGE]} (at most {_percent(MAX_OVER_TRIAGE)})",
        _figure("accuracy", report.accuracy, report.correct, report.total),
        _figure(
            "+ asked: red flags",
            report.red_flag_recall_asked,
            report.red_flag_caught + report.red_flag_clarified,
            report.red_flag_total,
        ),
        _figure(
            "+ asked: emergency",
            report.emergency_recall_asked,
            report.emergency_caught + report.emergency_clarified,
            report.emergency_total,
        ),
        _figure(
            "clarification", report.clarification_rate, report.non_urgent_clarified, report.non_urgent_total
        )
        + f"  {mark[report.clarification_rate <= MAX_CLARIFICATION_RATE]} "
        f"(of non-urgent, at most {_percent(MAX_CLARIFICATION_RATE)})",
        f"latency           {report.latency_mean_ms:.3f} ms mean, "
        f"{report.latency_p95_ms:.3f} ms p95 per message",
        "",
        "Confusion matrix (rows: expected, columns: predicted)",
    ]
    levels = [level.value for level in Level]
    width = max(len(level) for level in levels) + 2
    lines.append(" " * width + "".join(f"{level:>{width}}" for level in levels))
    for gold in levels:
        row = report.confusion.get(gold, {})
        lines.append(f"{gold:<{width}}" + "".join(f"{row.get(guess, 0):>{width}}" for guess in levels))
    lines.append("")
    lines.append(f"Misses ({len(report.misses)})")
    for miss in report.misses:
        days = f" [day {miss.days_since}]" if miss.days_since is not None else ""
        rule = f" by {miss.rule}" if miss.rule else ""
        asked = f" [asked: {miss.clarified}]" if miss.clarified else ""
        lines.append(
            f"  expected {miss.expected:<9} got {miss.predicted:<9}{rule}{asked}: {miss.text!r}{days}"
        )
    lines.append("")
    lines.append("PASSED" if report.passed else "FAILED: safety thresholds not met")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line of the triage evaluation."""
    parser = argparse.ArgumentParser(
        prog="aftercare eval triage",
        description="Score the triage safety layer on a labelled set of patient messages.",
    )
    add_arguments(parser)
    return parser


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the evaluation's options to ``parser`` (shared with the ``aftercare`` CLI)."""
    parser.add_argument(
        "path", nargs="?", type=Path, default=None, help=f"labelled YAML set (default: {DEFAULT_EVAL_SET})"
    )
    parser.add_argument("--repeat", type=int, default=3, help="passes over the set for the latency figures")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures as JSON to this file")
    parser.add_argument(
        "--rules-only", action="store_true", help="score the rules alone, without asking the safety questions"
    )
    parser.add_argument(
        "--screen-heldout",
        action="store_true",
        help="only report the learned red-flag screen's recall and precision on its held-out split",
    )


def run(args: argparse.Namespace) -> int:
    """Run the evaluation described by parsed ``args``; return an exit code."""
    root = Settings.from_env().project_root
    if getattr(args, "screen_heldout", False):
        train, test = split_examples(root)
        print(format_screen(score_screen(ScreenModel.train(train), test)))
        return 0
    path = args.path or root / DEFAULT_EVAL_SET
    if not path.exists():
        print(f"not found: {path}", file=sys.stderr)
        return 2
    clarifier = None if getattr(args, "rules_only", False) else default_clarifier(root, Path(path))
    report = evaluate(path, repeat=args.repeat, clarifier=clarifier)
    print(format_report(report))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = json.dumps(report.to_dict(), indent=2, ensure_ascii=False)
        args.json.write_text(payload + "\n", encoding="utf-8")
    return 0 if report.passed else 1


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the evaluation; return an exit code."""
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
