"""When the assistant asks the safety questions instead of answering (bot.triage.clarify), table-driven."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import pytest

from bot.triage import Level, TriageResult, assess
from bot.triage.clarify import (
    DISAGREE_RULE,
    NO_CLARIFICATION,
    SECOND_HAND_RULE,
    decide,
    decide_for_message,
    load_cues,
    screen_probability,
)

# message, screen probability (None: screen absent) -> clarify rule ("" means: do not ask)
CASES = [
    # wording the rules cannot place
    ("something is wrong with my skin since the session", None, "clarify.something_wrong"),
    ("Something's not right, it just doesn't look right", None, "clarify.something_wrong"),
    ("my skin is not ok after the treatment", None, "clarify.something_wrong"),
    ("it looks really weird", None, "clarify.looks_wrong"),
    ("my face looks odd today", None, "clarify.looks_wrong"),
    ("there's a strange colour on my cheek", None, "clarify.looks_wrong"),
    ("I don't know what this is on my chin", None, "clarify.unplaced_complaint"),
    ("never seen anything like this on my skin", None, "clarify.unplaced_complaint"),
    ("I'm really worried about my face", None, "clarify.negative_feeling"),
    ("I think it ruined my skin", None, "clarify.negative_feeling"),
    # general talk, plans and questions are no report
    ("what if something goes wrong?", None, ""),
    ("I'm worried about getting scars", None, ""),
    ("could it look weird afterwards?", None, ""),
    ("I'm nervous about my next session", None, ""),
    # ordinary messages
    ("hello", None, ""),
    ("my skin is peeling", None, ""),
    ("thanks, all good", 0.2, ""),
    # the second detector: confident red flag the rules missed -> ask; unsure -> do not
    ("hello", 0.9, DISAGREE_RULE),
    ("my skin is peeling", 0.85, DISAGREE_RULE),
    ("my skin is peeling", 0.84, ""),
    # the rules found a red flag: they win, nothing is asked
    ("my face hurts and something is wrong", 0.99, ""),
    ("my lips are swelling, it looks weird", None, ""),
    ("I have a fever", 0.1, ""),
    # empty text
    ("", 0.99, ""),
    ("   ", None, ""),
    # someone else's red flag next to a question about one's own risk: asked, never ignored
    ("my friend's lips swelled after her session, could that happen to me?", None, SECOND_HAND_RULE),
    ("my sister had a bad reaction years ago, am I more likely to react?", 0.1, SECOND_HAND_RULE),
    ("last time I got a fever after it, is that likely to happen again?", None, SECOND_HAND_RULE),
    # ... but a present report is escalated, and someone else's ordinary symptom is no red flag
    ("my sister's lips are swelling now, is that common?", None, ""),
    ("my friend got a few spots after hers, is that common?", None, ""),
]


# message, screen probability -> asked when the previous reply did not ask; never right after one
REPEATED = [
    ("something is wrong with my skin since the session", None),
    ("it looks really weird", None),
    ("hello", 0.99),
    ("my friend's lips swelled after her session, could that happen to me?", None),
]


@pytest.mark.parametrize(("text", "probability"), REPEATED)
def test_never_asked_twice_in_a_row(text: str, probability: Optional[float]) -> None:
    result = assess(text)
    assert decide(text, result, probability).ask
    assert decide(text, result, probability, asked_last_turn=True) == NO_CLARIFICATION
    parse_data = {"redflag_screen": {"probability": probability}}
    assert decide_for_message(text, result, parse_data).ask
    assert not decide_for_message(text, result, parse_data, asked_last_turn=True).ask


def test_a_red_flag_after_the_questions_is_still_escalated_not_asked() -> None:
    text = "yes, I have a fever"
    assert assess(text).level == Level.URGENT
    assert decide(text, assess(text), 0.99, asked_last_turn=True) == NO_CLARIFICATION


@pytest.mark.parametrize(("text", "probability", "rule"), CASES)
def test_decide(text: str, probability: Optional[float], rule: str) -> None:
    decision = decide(text, assess(text), probability)
    assert decision.rule == rule
    assert decision.ask == bool(rule)


@pytest.mark.parametrize("level", [Level.URGENT, Level.EMERGENCY])
def test_red_flag_from_rules_is_never_asked_about(level: Level) -> None:
    assert decide("something is wrong", TriageResult(level=level), 1.0) == NO_CLARIFICATION


@pytest.mark.parametrize("level", [Level.NONE, Level.SELF_CARE, Level.ROUTINE])
def test_below_urgent_a_confident_screen_asks(level: Level) -> None:
    assert decide("anything", TriageResult(level=level), 0.99).rule == DISAGREE_RULE


@pytest.mark.parametrize(
    ("parse_data", "expected"),
    [
        (None, None),
        ({}, None),
        ({"redflag_screen": None}, None),
        ({"redflag_screen": {"probability": None}}, None),
        ({"redflag_screen": {"probability": "0.9"}}, None),
        ({"redflag_screen": {"probability": 0.9}}, 0.9),
        ({"redflag_screen": {"probability": 1}}, 1.0),
    ],
)
def test_screen_probability_from_parse_data(parse_data, expected) -> None:
    assert screen_probability(parse_data) == expected


def test_decide_for_message_uses_the_stored_score() -> None:
    text = "hello there"
    assert not decide_for_message(text, assess(text), None).ask
    assert (
        decide_for_message(text, assess(text), {"redflag_screen": {"probability": 0.97}}).rule
        == DISAGREE_RULE
    )


def test_cue_file_is_checked(tmp_path: Path) -> None:
    bad = tmp_path / "clarify.yml"
    bad.write_text("cues: [not, a, mapping]\n", encoding="utf-8")
    with pytest.raises(ValueError, match="cues"):
        load_cues(bad)
    custom = tmp_path / "custom.yml"
    custom.write_text('cues:\n  odd: ["\\\\bzzz\\\\b"]\nnot_a_report: ["\\\\bif\\\\b"]\n', encoding="utf-8")
    cues = load_cues(custom)
    assert cues.cue_rule("ZZZ on my face") == "clarify.odd"
    assert cues.cue_rule("if zzz") == ""
