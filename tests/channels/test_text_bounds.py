"""Bounding patient text for Rasa without hiding a red flag, and sender ids that may name a conversation."""

from __future__ import annotations

import pytest

from bot.channels.text import MAX_NLU_TEXT, bound_for_nlu, conversation_id, valid_sender_id
from bot.triage import Level, assess


def test_short_text_is_left_alone():
    assert bound_for_nlu("is peeling normal?").text == "is peeling normal?"
    assert not bound_for_nlu("x" * MAX_NLU_TEXT).truncated


@pytest.mark.parametrize(
    ("red_flag", "level"),
    [
        ("I have had a fever since last night.", Level.URGENT),
        ("Now my lips and tongue are swelling up and I can't breathe properly.", Level.EMERGENCY),
    ],
)
def test_a_red_flag_past_the_cut_comes_first(red_flag, level):
    text = "My skin is a little dry and I am wondering which cream to use. " * 80 + red_flag
    assert len(text) > 5000
    bounded = bound_for_nlu(text)
    assert bounded.truncated and len(bounded.text) <= MAX_NLU_TEXT
    assert assess(bounded.text).level == assess(text).level == level


def test_a_negated_symptom_is_not_brought_forward():
    text = "I have no fever at all. " + "The peeling is fine. " * 300
    assert assess(bound_for_nlu(text).text).level < Level.URGENT


@pytest.mark.parametrize(
    "value", ["447700900123", "+44 7700 900123", "whatsapp:+447700900123", "US.134912086553"]
)
def test_ordinary_ids_are_valid(value):
    assert valid_sender_id(value)


@pytest.mark.parametrize("value", ["\ud800", "\x00", "a\u2028b", "x" * 201, " padded", "", None, 42])
def test_unsafe_ids_are_refused(value):
    assert not valid_sender_id(value)


def test_conversations_are_named_by_channel():
    assert conversation_id("whatsapp", "42") != conversation_id("telegram", "42")
    assert conversation_id("telegram", "42") == "telegram:42"


@pytest.mark.parametrize("position", [0, 1_990, 30_000, 59_900])
def test_a_red_flag_anywhere_in_a_very_long_message_reaches_rasa(position: int) -> None:
    """Read in overlapping pieces: a red flag at any offset, even across a piece boundary."""
    from bot.channels.text import bound_for_nlu
    from bot.triage import Level, assess

    filler = "my skin feels a little dry today "
    text = (filler * (60_000 // len(filler) + 1))[:60_000]
    red_flag = " my lips are swelling and I cannot breathe "
    text = text[:position] + red_flag + text[position + len(red_flag) :]
    bounded = bound_for_nlu(text)
    assert bounded.truncated and len(bounded.text) <= 4_096
    assert assess(bounded.text).level == Level.EMERGENCY
