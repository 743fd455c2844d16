"""Whatever arrives, assess answers and does not raise."""

from __future__ import annotations

import random
from typing import Any

import pytest

from bot.triage import Level, assess
from bot.triage import engine as engine_module


def _garbage(size: int, seed: int) -> bytes:
    generator = random.Random(seed)
    return bytes(generator.getrandbits(8) for _ in range(size))


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   \n\t  ",
        "lorem ipsum dolor sit amet " * 400,
        _garbage(4000, 1).decode("utf-8", errors="replace"),
        _garbage(4000, 2).decode("latin-1"),
        _garbage(4000, 3).decode("utf-8", errors="surrogateescape"),
        _garbage(4000, 4),
        "😀🎉💯👍🙂",
        "👩‍👩‍👧‍👦" * 300,
        "<script>alert('hi')</script>",
        "<html><body><div class='x'>hello</div></body></html>",
        "?!.,(" * 2000,
        "a" * 10_000,
        "1234567890" * 1000,
        "\x00\x01\x02\x1b[31m",
        "مرحبا كيف حالك",
        None,
        12345,
        b"",
    ],
    ids=lambda value: repr(value)[:30],
)
def test_bad_input_gives_level_none(value: Any) -> None:
    result = assess(value)
    assert result.level == Level.NONE
    assert result.findings == []


def test_long_message_with_a_red_flag_in_the_middle() -> None:
    text = "I have been doing my routine as told. " * 150 + "My lips are swelling. " + "All else fine. " * 300
    assert len(text) > 10_000
    result = assess(text)
    assert result.level == Level.EMERGENCY
    finding = result.deciding_finding
    assert finding is not None and text[finding.start : finding.end] == "lips are swelling"


def test_red_flag_words_inside_markup_still_count() -> None:
    result = assess("<p>my face <b>hurts</b></p>")
    assert result.level == Level.URGENT
    assert result.findings[0].text == "hurts"


def test_bytes_are_decoded() -> None:
    assert assess(b"I have a fever").level == Level.URGENT


def test_control_characters_do_not_hide_words() -> None:
    assert assess("\x00fever\x07").level == Level.URGENT


@pytest.mark.parametrize("days", [-3, "soon", float("nan"), float("inf"), True, [], "12"])
def test_odd_days_since_values_are_tolerated(days: Any) -> None:
    result = assess("peeling", days)
    assert result.level in (Level.SELF_CARE, Level.ROUTINE)


def test_string_days_since_counts_when_numeric() -> None:
    assert assess("peeling", "20").level == Level.ROUTINE


def test_engine_failure_escalates_for_human_review(monkeypatch: pytest.MonkeyPatch) -> None:
    class Broken:
        def assess(self, text: Any, days_since: Any = None) -> None:
            raise RuntimeError("boom")

    monkeypatch.setattr(engine_module, "default_engine", lambda: Broken())
    result = assess("hello")
    assert result.level == Level.URGENT
    assert result.rule == engine_module.ENGINE_ERROR_RULE
