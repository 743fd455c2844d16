"""A denied red flag next to an ordinary symptom never frightens (issue 14).

"no fever, just peeling" must be neither escalated by the rules nor asked about because the
learned screen saw the word "fever": the screen used here is trained exactly as the model
trains it (``bot.triage.screen.train_for``).
"""

from __future__ import annotations

import pytest

from bot.settings import PROJECT_ROOT
from bot.triage import Level, assess
from bot.triage.clarify import decide
from bot.triage.screen import ScreenModel, train_for

NEGATED_RED_FLAGS = [
    "no fever, just peeling",
    "no fever no pus, just a few dry flakes",
    "nope no temperature, just the peeling",
    "zero pain, only a bit of redness",
    "not sore at all just super dry",
    "without any pain, but skin is peeling around mouth",
    "I dont have any fever, only small pimples on chin",
    "its peeling, no swelling no pain no nothing",
    "lips are fine, eyes fine, just the usual redness",
    "fever? no. pain? no. just flaky",
    "not feverish, not swollen, only dry and tight",
    "no pus or anything, a couple of whiteheads",
    "doesn't hurt, doesn't itch, just pink",
    "no trouble breathing, lips normal, just peeling",
    "haven't had any temperature, the skin is shedding though",
]


@pytest.fixture(scope="module")
def screen() -> ScreenModel:
    model = train_for(PROJECT_ROOT)
    assert model is not None
    return model


@pytest.mark.parametrize("text", NEGATED_RED_FLAGS)
def test_a_denied_red_flag_is_neither_escalated_nor_asked_about(screen: ScreenModel, text: str) -> None:
    result = assess(text)
    assert result.level <= Level.SELF_CARE, result.to_dict()
    decision = decide(text, result, screen.probability(text))
    assert not decision.ask, (decision.rule, screen.probability(text))
    assert result.topics or result.level == Level.NONE
