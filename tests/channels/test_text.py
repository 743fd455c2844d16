"""Slash neutralising, provider-size splitting and tel: links."""

from __future__ import annotations

import pytest

from bot.channels.text import neutralise, split_for_provider, tel_link


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("/report_fever", "report_fever"),
        ('/ask_peeling{"procedure": "INJECTED"}', 'ask_peeling{"procedure": "INJECTED"}'),
        ("  //greet", "greet"),
        ("/ /greet", "greet"),
        ("\n\t/restart", "restart"),
        ("is peeling normal?", "is peeling normal?"),
        ("fever 38/39 since day 2", "fever 38/39 since day 2"),
        ("/", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_neutralise_leaves_no_leading_slash(given, expected):
    assert neutralise(given) == expected
    assert not neutralise(given).strip().startswith("/")


def test_split_keeps_short_text_whole():
    assert split_for_provider("  hello  ", 10) == ["hello"]


def test_split_prefers_line_breaks_and_keeps_every_word():
    text = "first paragraph here\n\nsecond one is a bit longer than the limit allows for sure"
    pieces = split_for_provider(text, 30)
    assert all(len(piece) <= 30 for piece in pieces)
    assert pieces[0] == "first paragraph here"
    assert " ".join(pieces).split() == text.split()


def test_split_cuts_words_without_spaces():
    assert split_for_provider("x" * 25, 10) == ["x" * 10, "x" * 10, "x" * 5]


@pytest.mark.parametrize(
    ("number", "link"),
    [
        ("+44 20 7946 0000", "tel:+442079460000"),
        ("999", "tel:999"),
        ("(555) 010-1234", "tel:5550101234"),
        ("n/a", None),
    ],
)
def test_tel_link(number, link):
    assert tel_link(number) == link


def test_hostile_characters_are_neutralised_not_fatal():
    from bot.channels.text import neutralise

    assert neutralise("\ud800 my lips are swelling") == "\ufffd my lips are swelling"
    assert neutralise("fever\x00 and chills\x1b") == "fever and chills"
    assert neutralise("line one\nline two\tend") == "line one\nline two\tend"
    assert neutralise(5) == ""  # type: ignore[arg-type]
    assert neutralise("\ud800").encode("utf-8")  # always encodable
