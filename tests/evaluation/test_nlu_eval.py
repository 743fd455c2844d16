"""Tests for the NLU evaluation helpers and for the NLU data they evaluate.

No model is trained here: metrics are checked on fixed lists, and the data checks
guard the properties that make the evaluation meaningful (enough examples per
intent, held-out texts never seen in training, only the entities DIET should learn).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Dict, List, Sequence

import pytest
import yaml

from bot.evaluation.nlu_eval import (
    ConfigResult,
    LabelledExample,
    format_per_intent,
    format_summary,
    intent_metrics,
    load_examples,
    load_synonyms,
    main,
    normalise_text,
)
from bot.knowledge.procedures import load_procedures
from bot.settings import PROJECT_ROOT

NLU_DIR = PROJECT_ROOT / "data" / "nlu"
HELDOUT = PROJECT_ROOT / "eval" / "nlu_heldout.yml"
DOMAIN = PROJECT_ROOT / "domain.yml"

MIN_TRAINING_EXAMPLES = 20
MIN_HELDOUT_EXAMPLES = 8
MIN_HELDOUT_TOTAL = 200
# Entities DIET learns; days_since and temperature come from rules and must stay unannotated.
ANNOTATED_ENTITIES = {"procedure", "body_part"}
PROCEDURES = set(load_procedures(PROJECT_ROOT / "knowledge").ids)


@pytest.fixture(scope="module")
def training() -> List[LabelledExample]:
    return load_examples(NLU_DIR)


@pytest.fixture(scope="module")
def heldout() -> List[LabelledExample]:
    return load_examples(HELDOUT)


@pytest.fixture(scope="module")
def synonyms() -> Dict[str, str]:
    return load_synonyms(NLU_DIR)


@pytest.fixture(scope="module")
def contract_intents() -> List[str]:
    return list(yaml.safe_load(DOMAIN.read_text(encoding="utf-8"))["intents"])


# --- metrics -------------------------------------------------------------------------

METRIC_CASES = [
    pytest.param(["a", "b", "a"], ["a", "b", "a"], 1.0, 1.0, {"a": 1.0, "b": 1.0}, id="perfect"),
    # a: precision 1/2, recall 1/2 -> 0.5; b: precision 0/1, recall 0/1 -> 0; c: 1.0.
    pytest.param(
        ["a", "a", "b", "c"], ["a", "b", "a", "c"], 0.5, 0.5, {"a": 0.5, "b": 0.0, "c": 1.0}, id="swap"
    ),
    # A fallback is a miss for the true intent but is not itself a scored class:
    # a: precision 1, recall 1/2 -> 2/3; b: 1.0; macro over a and b only.
    pytest.param(
        ["a", "a", "b"],
        ["a", "nlu_fallback", "b"],
        2 / 3,
        (2 / 3 + 1) / 2,
        {"a": 2 / 3, "b": 1.0},
        id="fallback",
    ),
]


@pytest.mark.parametrize("true, predicted, accuracy, macro_f1, per_intent", METRIC_CASES)
def test_intent_metrics(
    true: Sequence[str],
    predicted: Sequence[str],
    accuracy: float,
    macro_f1: float,
    per_intent: Dict[str, float],
) -> None:
    metrics = intent_metrics(true, predicted)
    assert metrics.accuracy == pytest.approx(accuracy)
    assert metrics.macro_f1 == pytest.approx(macro_f1)
    assert metrics.per_intent_f1 == pytest.approx(per_intent)
    assert metrics.support == dict(Counter(true))


def test_intent_metrics_lists_most_frequent_confusions_first() -> None:
    metrics = intent_metrics(["a", "a", "a", "b", "c"], ["b", "b", "c", "b", "a"])
    assert metrics.top_confusions[0] == ("a", "b", 2)
    assert set(metrics.top_confusions[1:]) == {("a", "c", 1), ("c", "a", 1)}


@pytest.mark.parametrize("true, predicted", [(["a"], []), ([], [])])
def test_intent_metrics_rejects_mismatched_or_empty_input(true: List[str], predicted: List[str]) -> None:
    with pytest.raises(ValueError):
        intent_metrics(true, predicted)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Is peeling   NORMAL?!", "is peeling normal"),
        ("it's sore", "it s sore"),
        ("👍", "👍"),
        ("  hi,there ", "hi there"),
    ],
)
def test_normalise_text(text: str, expected: str) -> None:
    assert normalise_text(text) == expected


# --- reporting -----------------------------------------------------------------------


def _result(config: str, f1: Dict[str, float]) -> ConfigResult:
    return ConfigResult(
        config=config,
        examples=10,
        accuracy=0.9,
        macro_f1=sum(f1.values()) / len(f1),
        fallbacks=1,
        mean_parse_ms=12.34,
        training_seconds=56.7,
        per_intent_f1=f1,
        top_confusions=[],
        misclassified=[],
    )


def test_summary_has_one_row_per_config_with_its_figures() -> None:
    table = format_summary(
        [_result("config.yml", {"a": 1.0}), _result("eval/config_rasa_init.yml", {"a": 0.5})]
    )
    rows = table.splitlines()[2:]
    assert [row.split()[0] for row in rows] == ["config.yml", "eval/config_rasa_init.yml"]
    assert rows[1].split()[1:] == ["0.900", "0.500", "1", "12.3", "56.7"]


def test_per_intent_table_lists_weakest_intent_of_first_config_first() -> None:
    table = format_per_intent([_result("ours", {"good": 0.9, "weak": 0.2}), _result("init", {"good": 0.5})])
    rows = [row.split() for row in table.splitlines()[2:]]
    assert rows == [["weak", "0.200", "0.000"], ["good", "0.900", "0.500"]]


def test_main_refuses_missing_config_without_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no_such_config.yml"
    assert main(["--configs", str(missing), "--heldout", str(HELDOUT)]) == 2
    assert str(missing) in capsys.readouterr().err


# --- the data itself -----------------------------------------------------------------


def test_every_contract_intent_has_enough_training_examples(
    training: List[LabelledExample], contract_intents: List[str]
) -> None:
    counts = Counter(example.intent for example in training)
    too_few = {
        intent: counts[intent] for intent in contract_intents if counts[intent] < MIN_TRAINING_EXAMPLES
    }
    assert too_few == {}
    assert set(counts) <= set(contract_intents)


def test_every_contract_intent_has_enough_heldout_examples(
    heldout: List[LabelledExample], contract_intents: List[str]
) -> None:
    counts = Counter(example.intent for example in heldout)
    too_few = {intent: counts[intent] for intent in contract_intents if counts[intent] < MIN_HELDOUT_EXAMPLES}
    assert too_few == {}
    assert set(counts) <= set(contract_intents)
    assert len(heldout) >= MIN_HELDOUT_TOTAL


def test_heldout_texts_never_appear_in_training(
    training: List[LabelledExample], heldout: List[LabelledExample]
) -> None:
    seen = {normalise_text(example.text) for example in training}
    leaked = [example.text for example in heldout if normalise_text(example.text) in seen]
    assert leaked == []


@pytest.mark.parametrize("source", ["training", "heldout"])
def test_no_text_is_listed_twice(source: str, request: pytest.FixtureRequest) -> None:
    examples: List[LabelledExample] = request.getfixturevalue(source)
    counts = Counter(normalise_text(example.text) for example in examples)
    assert [text for text, count in counts.items() if count > 1] == []


@pytest.mark.parametrize("source", ["training", "heldout"])
def test_only_procedure_and_body_part_are_annotated(source: str, request: pytest.FixtureRequest) -> None:
    examples: List[LabelledExample] = request.getfixturevalue(source)
    annotated = {entity for example in examples for entity, _ in example.entities}
    assert annotated == ANNOTATED_ENTITIES


@pytest.mark.parametrize("source", ["training", "heldout"])
def test_procedure_annotations_normalise_to_known_procedures(
    source: str, request: pytest.FixtureRequest, synonyms: Dict[str, str]
) -> None:
    examples: List[LabelledExample] = request.getfixturevalue(source)
    values = {
        synonyms.get(value.lower(), value.lower())
        for example in examples
        for entity, value in example.entities
        if entity == "procedure"
    }
    # Training names every procedure (generated examples); the held-out set may name fewer.
    assert values == PROCEDURES if source == "training" else values <= PROCEDURES


def test_every_procedure_mention_in_training_is_annotated(
    training: List[LabelledExample], synonyms: Dict[str, str]
) -> None:
    # An unannotated "dermapen" teaches DIET that the word is sometimes not an entity.
    words = sorted(
        {text for text, value in synonyms.items() if value in PROCEDURES} | PROCEDURES, key=len, reverse=True
    )
    mention = re.compile(r"\b(?:" + "|".join(re.escape(word) for word in words) + r")\b", re.IGNORECASE)
    unannotated = [
        example.text
        for example in training
        if len(mention.findall(example.text))
        != sum(1 for entity, _ in example.entities if entity == "procedure")
    ]
    assert unannotated == []
