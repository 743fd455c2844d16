"""The learned red-flag screen (bot.triage.screen): data, split, training, persistence, figures."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT
from bot.triage.screen import (
    CONFIDENT,
    Example,
    ScreenModel,
    held_out,
    nlu_examples,
    score_screen,
    split_examples,
    triage_examples,
)

TOY = [
    Example("my face really hurts", True),
    Example("I have a high fever", True),
    Example("my lips are swelling up", True),
    Example("there is pus coming out", True),
    Example("it hurts so much", True),
    Example("fever and chills all night", True),
    Example("when can I wear makeup", False),
    Example("thanks so much", False),
    Example("my skin is a bit dry", False),
    Example("hello there", False),
    Example("can I go to the gym", False),
    Example("some light peeling today", False),
]


@pytest.fixture(scope="module")
def project_screen() -> tuple[ScreenModel, list[Example]]:
    train, test = split_examples(PROJECT_ROOT)
    return ScreenModel.train(train), test


def test_held_out_split_is_stable_and_about_a_fifth() -> None:
    texts = [f"message number {index}" for index in range(2000)]
    first = [held_out(text) for text in texts]
    assert first == [held_out(text) for text in texts]
    assert held_out("My Face Hurts ") == held_out("my face hurts")
    assert 0.15 < sum(first) / len(first) < 0.25


def test_triage_and_nlu_examples_are_labelled(tmp_path: Path) -> None:
    cases = tmp_path / "set.yml"
    cases.write_text(
        'cases:\n  - {text: "it hurts", level: urgent}\n  - {text: "hi", level: none}\n'
        '  - {text: "lips", level: emergency}\n  - {text: "still peeling", level: routine}\n',
        encoding="utf-8",
    )
    assert [ex.red_flag for ex in triage_examples(cases)] == [True, False, True, False]
    nlu = tmp_path / "nlu"
    nlu.mkdir()
    (nlu / "a.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: report_fever\n'
        "  examples: |\n    - fever on my [forehead](body_part)\n"
        "- intent: ask_sun\n  examples: |\n    - can I go in the sun\n"
        "- intent: inform\n  examples: |\n    - day 3\n",
        encoding="utf-8",
    )
    assert nlu_examples(nlu) == [Example("fever on my forehead", True), Example("can I go in the sun", False)]


def test_split_keeps_held_out_and_excluded_sets_out_of_training() -> None:
    train, test = split_examples(PROJECT_ROOT)
    train_texts = {ex.text.strip().lower() for ex in train}
    assert test and not any(ex.text.strip().lower() in train_texts for ex in test)
    excluded, _ = split_examples(PROJECT_ROOT, exclude=[PROJECT_ROOT / "eval" / "triage_eval.yml"])
    assert len(excluded) < len(train)
    batch = {ex.text.lower() for ex in triage_examples(PROJECT_ROOT / "eval" / "triage_batch_a.yml")}
    assert not batch & train_texts, "the fresh batches are measurement sets, never training data"


def test_training_needs_both_classes() -> None:
    with pytest.raises(ValueError, match="both"):
        ScreenModel.train([ex for ex in TOY if ex.red_flag])


def test_toy_model_separates_and_survives_a_round_trip(tmp_path: Path) -> None:
    model = ScreenModel.train(TOY)
    assert model.probability("my face hurts a lot") > model.probability("can I wear makeup")
    assert model.probability("") == 0.0
    path = tmp_path / "screen.joblib"
    model.save(path)
    loaded = ScreenModel.load(path)
    assert loaded.probability("fever tonight") == pytest.approx(model.probability("fever tonight"))


def test_score_screen_counts() -> None:
    model = ScreenModel.train(TOY)
    report = score_screen(model, TOY, threshold=0.0)
    assert (report.true_positives, report.false_positives, report.red_flags) == (6, 6, 6)
    assert report.recall == 1.0 and report.precision == 0.5
    nothing = score_screen(model, TOY, threshold=1.01)
    assert nothing.recall == 0.0 and nothing.precision == 1.0


def test_project_screen_held_out_figures(project_screen: tuple[ScreenModel, list[Example]]) -> None:
    """The figures the README reports: the screen alone is a safety net, precise rather than complete."""
    model, test = project_screen
    report = score_screen(model, test, CONFIDENT)
    assert report.red_flags >= 100
    assert report.precision >= 0.9
    assert report.recall >= 0.5
