"""A second, independent red-flag detector: a small learned classifier next to the rules.

Why: a vocabulary can always meet a wording it has not seen. A logistic regression on
character n-grams learns from whole labelled messages instead of from our word lists, so its
mistakes are different from the rules' mistakes. It never lowers the rules' verdict: when it is
confident of a red flag the rules did not find, the assistant asks the safety questions
(:mod:`bot.triage.clarify`); when the rules found one, the rules win.

Training data: the triage evaluation sets (``eval/triage_eval.yml``, ``eval/triage_blind.yml``)
minus a fixed held-out split, plus the NLU examples of the red-flag intents (positives) and of
the other intents (negatives). The fresh batches (``eval/triage_batch_*.yml``) are never trained
on: they are measurement sets. Everything is local; nothing is downloaded.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple

import yaml

from bot.triage.levels import Level

#: Triage sets the detector learns from (their held-out split excepted).
TRAINING_SETS = ("eval/triage_eval.yml", "eval/triage_blind.yml")
#: NLU intents whose examples report a red flag.
RED_FLAG_INTENTS = frozenset({"report_pain", "report_fever", "report_infection", "report_allergic_reaction"})
#: Intents whose examples are ambiguous about the level (left out of training).
UNLABELLED_INTENTS = frozenset({"report_redness_swelling", "inform", "nlu_fallback"})
#: Share of each triage set held out for the detector's own recall and precision.
HELD_OUT_SHARE = 0.2
#: Probability from which the detector counts as confident of a red flag.
CONFIDENT = 0.85
SEED = 42

_ENTITY = re.compile(r"\[([^\]]+)\](?:\([^)]*\)|\{[^}]*\})")


@dataclass(frozen=True)
class Example:
    """One training or test message and whether it is a red flag (urgent or emergency)."""

    text: str
    red_flag: bool


def held_out(text: str, share: float = HELD_OUT_SHARE) -> bool:
    """Tell whether ``text`` belongs to the held-out split (stable across runs and machines)."""
    digest = hashlib.sha256(text.strip().lower().encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") / 2**32 < share


def triage_examples(path: Path) -> List[Example]:
    """Read a triage evaluation set as examples (red flag = labelled urgent or emergency)."""
    with open(path, encoding="utf-8") as handle:
        document = yaml.safe_load(handle) or {}
    return [
        Example(str(item["text"]), Level.parse(item["level"]) >= Level.URGENT)
        for item in document.get("cases") or []
        if item.get("text")
    ]


def nlu_examples(nlu_dir: Path) -> List[Example]:
    """Read intent examples from Rasa NLU files: red-flag intents positive, the rest negative."""
    examples: List[Example] = []
    for path in sorted(nlu_dir.glob("*.yml")):
        with open(path, encoding="utf-8") as handle:
            document = yaml.safe_load(handle) or {}
        for item in document.get("nlu") or []:
            intent = item.get("intent") if isinstance(item, dict) else None
            if not intent or intent in UNLABELLED_INTENTS:
                continue
            for line in str(item.get("examples") or "").splitlines():
                text = _ENTITY.sub(r"\1", line.strip().lstrip("-").strip())
                if text:
                    examples.append(Example(text, intent in RED_FLAG_INTENTS))
    return examples


def split_examples(root: Path, exclude: Iterable[Path] = ()) -> Tuple[List[Example], List[Example]]:
    """Return (training, held-out) examples from the project at ``root``.

    Sets named in ``exclude`` are left out of training entirely (an evaluation scoring one of
    them must not have trained on it). NLU examples are only ever used for training.
    """
    excluded = {Path(path).resolve() for path in exclude}
    train: List[Example] = []
    test: List[Example] = []
    for name in TRAINING_SETS:
        path = (root / name).resolve()
        if not path.exists():
            continue
        for example in triage_examples(path):
            if held_out(example.text):
                test.append(example)
            elif path not in excluded:
                train.append(example)
    held = {example.text.strip().lower() for example in test}
    nlu_dir = root / "data" / "nlu"
    if nlu_dir.is_dir():
        train.extend(ex for ex in nlu_examples(nlu_dir) if ex.text.strip().lower() not in held)
    return train, test


class ScreenModel:
    """A character n-gram logistic regression that scores how likely a message is a red flag."""

    def __init__(self, pipeline: object) -> None:
        self._pipeline = pipeline

    @classmethod
    def train(cls, examples: Sequence[Example]) -> ScreenModel:
        """Fit the model on ``examples`` (needs both red flags and ordinary messages)."""
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline

        labels = [example.red_flag for example in examples]
        if len(set(labels)) < 2:
            raise ValueError("the red-flag screen needs both red-flag and ordinary examples")
        pipeline = make_pipeline(
            TfidfVectorizer(
                analyzer="char_wb", ngram_range=(2, 5), lowercase=True, sublinear_tf=True, min_df=1
            ),
            LogisticRegression(C=4.0, class_weight="balanced", max_iter=2000, random_state=SEED),
        )
        pipeline.fit([example.text for example in examples], labels)
        return cls(pipeline)

    def probability(self, text: str) -> float:
        """Return the probability that ``text`` reports a red flag (0.0 for empty text)."""
        if not text or not text.strip():
            return 0.0
        scores = self._pipeline.predict_proba([text])[0]  # type: ignore[attr-defined]
        classes = list(self._pipeline.classes_)  # type: ignore[attr-defined]
        return float(scores[classes.index(True)])

    def save(self, path: Path) -> None:
        """Write the fitted model to ``path`` (a file inside the Rasa model archive)."""
        import joblib

        joblib.dump(self._pipeline, path)

    @classmethod
    def load(cls, path: Path) -> ScreenModel:
        """Read a model written by :meth:`save`."""
        import joblib

        return cls(joblib.load(path))


@dataclass(frozen=True)
class ScreenReport:
    """The detector's own figures on the held-out split."""

    total: int
    red_flags: int
    true_positives: int
    false_positives: int
    threshold: float

    @property
    def recall(self) -> float:
        """Return the share of held-out red flags scored at or above the threshold."""
        return self.true_positives / self.red_flags if self.red_flags else 1.0

    @property
    def precision(self) -> float:
        """Return the share of confident scores that were red flags."""
        flagged = self.true_positives + self.false_positives
        return self.true_positives / flagged if flagged else 1.0


def score_screen(
    model: ScreenModel, examples: Sequence[Example], threshold: float = CONFIDENT
) -> ScreenReport:
    """Score ``model`` on ``examples`` at ``threshold``."""
    tp = fp = 0
    for example in examples:
        confident = model.probability(example.text) >= threshold
        tp += confident and example.red_flag
        fp += confident and not example.red_flag
    return ScreenReport(len(examples), sum(ex.red_flag for ex in examples), tp, fp, threshold)


def train_for(root: Path, exclude: Iterable[Path] = ()) -> Optional[ScreenModel]:
    """Train a detector from the project at ``root``, or None when it has too little data."""
    train, _ = split_examples(root, exclude)
    try:
        return ScreenModel.train(train)
    except ValueError:
        return None
