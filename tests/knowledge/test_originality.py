"""Detecting answers that copy eight or more consecutive words from a source."""

from __future__ import annotations

from bot.knowledge.originality import copied_runs, words

SOURCE = "Dry skin aggravates peeling. Use skincare products with hypoallergenic ingredients, please!"


def test_words_ignore_case_and_punctuation() -> None:
    assert words("Don't PEEL it, 0.3 mm!") == ["don", "t", "peel", "it", "0", "3", "mm"]


def test_copied_run_of_eight_words_is_found() -> None:
    text = "Remember: dry SKIN aggravates peeling; use skincare products with care."
    assert copied_runs(text, [SOURCE]) == ["dry skin aggravates peeling use skincare products with"]


def test_seven_shared_words_are_allowed() -> None:
    assert copied_runs("Dry skin aggravates peeling, use skincare products daily.", [SOURCE]) == []


def test_own_words_pass() -> None:
    assert copied_runs("Dryness makes peeling worse, so moisturise with gentle products.", [SOURCE]) == []
