"""Days since the procedure, from what patients actually write."""

from datetime import date

import pytest

from bot.dates import find_days_mentions


def days_since(text, today):
    """The days named first in ``text`` (what the rule entity extractor reports first)."""
    mentions = sorted(find_days_mentions(text, today), key=lambda m: m.start)
    return mentions[0].days if mentions else None

TODAY = date(2026, 11, 21)  # a Saturday

CASES = [
    ("the treatment was 3 days ago", 3),
    ("I had it done yesterday", 1),
    ("had my dermapen today", 0),
    ("it was on Monday", 5),
    ("on saturday", 7),
    ("two weeks ago", 14),
    ("a week ago", 7),
    ("last week", 7),
    ("a couple of days ago", 2),
    ("on the 3rd", 18),
    ("on the 28th", 24),
    ("on the 3rd of november", 18),
    ("it's day 5 after microneedling", 5),
    ("still peeling for 10 days", 10),
    ("ten days ago", 10),
    ("2026-11-01", 20),
    ("a fortnight ago", 14),
    ("nearly a fortnight ago", 14),
    ("it's been 3 days since my dermapen", 3),
    ("it was sunday", 6),
    ("hello there", None),
    ("I am 30 years old", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), CASES)
def test_days_since(text, expected):
    assert days_since(text, TODAY) == expected


def test_future_iso_date_is_ignored():
    assert days_since("booked for 2026-12-24", TODAY) is None
