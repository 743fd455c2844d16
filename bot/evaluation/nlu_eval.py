"""Compare NLU pipelines on a held-out set the models never trained on.

Why: pipeline choices in ``config.yml`` should rest on figures, not habit. For each
config this trains an NLU-only model on ``data/nlu``, parses every example of
``eval/nlu_heldout.yml`` and reports intent accuracy, macro-F1 and parse latency next
to Rasa's default (``rasa init``) pipeline.

Run as ``aftercare eval nlu`` or ``python -m bot.evaluation.nlu_eval``. Training is
CPU-heavy (a few minutes per config on two cores).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import string
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

from bot.evaluation.common import evaluation_parser
from bot.settings import PROJECT_ROOT

#: Intent name FallbackClassifier predicts when no intent is confident enough.
FALLBACK_INTENT = "nlu_fallback"

DEFAULT_CONFIGS: Tuple[str, ...] = ("config.yml", "eval/config_rasa_init.yml")
DEFAULT_HELDOUT = "eval/nlu_heldout.yml"
DEFAULT_NLU_DATA = "data/nlu"
DEFAULT_DOMAIN = "domain.yml"

#: Summary table columns after the config name: (title, width).
SUMMARY_COLUMNS: Tuple[Tuple[str, int], ...] = (
    ("accuracy", 8),
    ("macro-F1", 8),
    ("fallbacks", 9),
    ("ms/msg", 7),
    ("train s", 7),
)

_PUNCTUATION_TABLE = str.maketrans({char: " " for char in string.punctuation})


@dataclass(frozen=True)
class LabelledExample:
    """One NLU example: its plain text, intent and annotated (entity, value) pairs."""

    text: str
    intent: str
    entities: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class IntentMetrics:
    """Intent classification quality on one labelled set."""

    accuracy: float
    macro_f1: float
    per_intent_f1: Dict[str, float]
    support: Dict[str, int]
    top_confusions: List[Tuple[str, str, int]]


@dataclass(frozen=True)
class ConfigResult:
    """Everything measured for one pipeline config."""

    config: str
    examples: int
    accuracy: float
    macro_f1: float
    fallbacks: int
    mean_parse_ms: float
    training_seconds: float
    per_intent_f1: Dict[str, float]
    top_confusions: List[Tuple[str, str, int]]
    #: (text, true intent, predicted intent) for every miss, to read in the JSON output.
    misclassified: List[Tuple[str, str, str]]


def normalise_text(text: str) -> str:
    """Lower-case, drop ASCII punctuation and squeeze whitespace, for near-duplicate checks.

    Emoji are kept, so "👍" and "👎" stay different texts.
    """
    return " ".join(text.lower().translate(_PUNCTUATION_TABLE).split())


def load_examples(path: Path) -> List[LabelledExample]:
    """Read the intent examples of a Rasa NLU YAML file or directory, annotations resolved."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [
        LabelledExample(
            text=message.get("text"),
            intent=message.get("intent"),
            entities=tuple(
                (entity["entity"], str(entity["value"])) for entity in message.get("entities") or []
            ),
        )
        for message in data.intent_examples
    ]


def load_synonyms(path: Path) -> Dict[str, str]:
    """Return the synonym map (lower-cased text -> canonical value) of NLU data at ``path``."""
    from rasa.shared.nlu.training_data.loading import load_data

    return {text.lower(): value for text, value in load_data(str(path)).entity_synonyms.items()}


def intent_metrics(true: Sequence[str], predicted: Sequence[str], confusions: int = 10) -> IntentMetrics:
    """Score predicted intents against the truth.

    F1 is computed for every intent present in ``true``; a prediction outside that set
    (typically ``nlu_fallback``) only counts as a miss for the true intent, so the
    macro average is over the intents the held-out set actually tests.
    """
    from sklearn.metrics import accuracy_score, f1_score

    if len(true) != len(predicted):
        raise ValueError(f"{len(true)} true labels but {len(predicted)} predictions")
    if not true:
        raise ValueError("nothing to score")
    labels = sorted(set(true))
    scores = f1_score(true, predicted, labels=labels, average=None, zero_division=0)
    per_intent = {label: float(score) for label, score in zip(labels, scores, strict=True)}
    mistakes = Counter((gold, guess) for gold, guess in zip(true, predicted, strict=True) if gold != guess)
    return IntentMetrics(
        accuracy=float(accuracy_score(true, predicted)),
        macro_f1=sum(per_intent.values()) / len(per_intent),
        per_intent_f1=per_intent,
        support=dict(sorted(Counter(true).items())),
        top_confusions=[(gold, guess, count) for (gold, guess), count in mistakes.most_common(confusions)],
    )


def train_nlu_model(config: Path, nlu_data: Path, domain: Path | None, work_dir: Path, name: str) -> Path:
    """Train an NLU-only model into ``work_dir`` and return the archive's path.

    Rasa runs in a subprocess whose working directory is ``work_dir``: its training
    cache (``.rasa/cache`` under the working directory) therefore starts empty, so
    training times are honest and the project's own cache is left alone.
    """
    command = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "nlu",
        "--config",
        str(config.resolve()),
        "--nlu",
        str(nlu_data.resolve()),
        "--out",
        str(work_dir.resolve()),
        "--fixed-model-name",
        name,
    ]
    if domain is not None and domain.exists():
        command += ["--domain", str(domain.resolve())]
    log_path = work_dir / f"{name}.log"
    with log_path.open("w", encoding="utf-8") as log:
        completed = subprocess.run(command, cwd=work_dir, stdout=log, stderr=subprocess.STDOUT, check=False)
    model_path = work_dir / f"{name}.tar.gz"
    if completed.returncode != 0 or not model_path.exists():
        tail = "\n".join(log_path.read_text(encoding="utf-8").splitlines()[-30:])
        raise RuntimeError(f"training with {config} failed (exit {completed.returncode}):\n{tail}")
    return model_path


async def _parse_all(model_path: Path, texts: Sequence[str]) -> Tuple[List[str], List[float]]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model_path))
    # The first parse builds the TensorFlow graph; keep it out of the latency figure.
    await agent.parse_message(texts[0])
    intents: List[str] = []
    durations_ms: List[float] = []
    for text in texts:
        started = time.perf_counter()
        parsed = await agent.parse_message(text)
        durations_ms.append((time.perf_counter() - started) * 1000)
        intents.append((parsed.get("intent") or {}).get("name") or "")
    return intents, durations_ms


def predict_intents(model_path: Path, texts: Sequence[str]) -> Tuple[List[str], List[float]]:
    """Parse ``texts`` with a trained model; return the intents and per-message milliseconds."""
    return asyncio.run(_parse_all(model_path, texts))


def evaluate_config(
    config: Path,
    label: str,
    heldout: Sequence[LabelledExample],
    nlu_data: Path,
    domain: Path | None,
    work_dir: Path,
    model_name: str,
) -> ConfigResult:
    """Train on ``nlu_data`` with ``config`` and score the model on ``heldout``."""
    started = time.perf_counter()
    model_path = train_nlu_model(config, nlu_data, domain, work_dir, model_name)
    training_seconds = time.perf_counter() - started
    predicted, durations_ms = predict_intents(model_path, [example.text for example in heldout])
    metrics = intent_metrics([example.intent for example in heldout], predicted)
    return ConfigResult(
        config=label,
        examples=len(heldout),
        accuracy=metrics.accuracy,
        macro_f1=metrics.macro_f1,
        fallbacks=sum(1 for intent in predicted if intent == FALLBACK_INTENT),
        mean_parse_ms=sum(durations_ms) / len(durations_ms),
        training_seconds=training_seconds,
        per_intent_f1=metrics.per_intent_f1,
        top_confusions=metrics.top_confusions,
        misclassified=[
            (example.text, example.intent, guess)
            for example, guess in zip(heldout, predicted, strict=True)
            if example.intent != guess
        ],
    )


def format_summary(results: Sequence[ConfigResult]) -> str:
    """Render the side-by-side comparison of configs as a plain-text table."""
    width = max([len("config")] + [len(result.config) for result in results])
    header = f"{'config':<{width}}  " + "  ".join(f"{title:>{size}}" for title, size in SUMMARY_COLUMNS)
    rows = []
    for r in results:
        cells = (
            f"{r.accuracy:.3f}",
            f"{r.macro_f1:.3f}",
            str(r.fallbacks),
            f"{r.mean_parse_ms:.1f}",
            f"{r.training_seconds:.1f}",
        )
        rows.append(
            f"{r.config:<{width}}  "
            + "  ".join(f"{cell:>{size}}" for cell, (_, size) in zip(cells, SUMMARY_COLUMNS, strict=True))
        )
    return "\n".join([header, "-" * len(header), *rows])


def format_per_intent(results: Sequence[ConfigResult]) -> str:
    """Render per-intent F1, one column per config, weakest intents of the first config first."""
    if not results:
        return ""
    first = results[0]
    intents = sorted(first.per_intent_f1, key=lambda intent: (first.per_intent_f1[intent], intent))
    width = max(len("intent"), *(len(intent) for intent in intents))
    columns = [max(len(result.config), 6) for result in results]
    header = f"{'intent':<{width}}" + "".join(
        f"  {result.config:>{column}}" for result, column in zip(results, columns, strict=True)
    )
    rows = [
        f"{intent:<{width}}"
        + "".join(
            f"  {result.per_intent_f1.get(intent, 0.0):>{column}.3f}"
            for result, column in zip(results, columns, strict=True)
        )
        for intent in intents
    ]
    return "\n".join([header, "-" * len(header), *rows])


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line of the NLU evaluation."""
    description = "Train NLU-only models per config and compare them on the held-out set."
    return evaluation_parser("aftercare eval nlu", description, add_arguments)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the evaluation's options to ``parser`` (shared with the ``aftercare`` CLI)."""
    parser.add_argument(
        "--configs",
        nargs="+",
        type=Path,
        default=None,
        help=f"pipeline configs to compare, first is 'ours' (default: {' '.join(DEFAULT_CONFIGS)})",
    )
    parser.add_argument(
        "--heldout", type=Path, default=None, help=f"held-out NLU YAML (default: {DEFAULT_HELDOUT})"
    )
    parser.add_argument("--nlu", type=Path, default=None, help=f"training data (default: {DEFAULT_NLU_DATA})")
    parser.add_argument("--out", type=Path, default=None, help="also write the figures as JSON to this file")


def run(args: argparse.Namespace) -> int:
    """Run the evaluation described by parsed ``args``; return an exit code."""
    root = PROJECT_ROOT
    configs = list(args.configs) if args.configs else [root / name for name in DEFAULT_CONFIGS]
    heldout_path = args.heldout or root / DEFAULT_HELDOUT
    nlu_data = args.nlu or root / DEFAULT_NLU_DATA
    missing = [path for path in [*configs, heldout_path, nlu_data] if not path.exists()]
    if missing:
        print(f"not found: {', '.join(str(path) for path in missing)}", file=sys.stderr)
        return 2

    heldout = load_examples(heldout_path)
    _quieten_rasa()
    results: List[ConfigResult] = []
    with tempfile.TemporaryDirectory(prefix="aftercare-nlu-eval-") as tmp:
        for index, config in enumerate(configs):
            label = _label(config, root)
            print(f"training and scoring {label} ...", file=sys.stderr, flush=True)
            try:
                result = evaluate_config(
                    config, label, heldout, nlu_data, root / DEFAULT_DOMAIN, Path(tmp), f"nlu-{index}"
                )
            except RuntimeError as error:
                print(error, file=sys.stderr)
                return 1
            results.append(result)

    print(f"\nHeld-out set: {heldout_path} ({len(heldout)} examples)\n")
    print(format_summary(results))
    print("\nPer-intent F1\n")
    print(format_per_intent(results))
    for result in results:
        confusions = ", ".join(f"{gold}->{guess} x{count}" for gold, guess, count in result.top_confusions)
        print(f"\nMost frequent confusions ({result.config}): {confusions or 'none'}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"heldout": str(heldout_path), "results": [asdict(result) for result in results]}
        args.out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"\nWrote {args.out}")
    return 0


def _quieten_rasa() -> None:
    """Keep Rasa's per-message debug lines out of stdout, where the tables go."""
    import structlog

    logging.getLogger("rasa").setLevel(logging.WARNING)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )


def _label(config: Path, root: Path) -> str:
    try:
        return str(config.resolve().relative_to(root))
    except ValueError:
        return str(config)


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` and run the evaluation; return an exit code."""
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
