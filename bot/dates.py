"""Turn "3 days ago", "yesterday", "on Monday", "a fortnight ago", "on the 3rd" into whole days.

Patients rarely give a date; they say how long ago. How long ago the treatment was
decides which part of the documented course applies, so this parser is deterministic,
conservative (it returns nothing rather than a guess) and tested. Whether a mention is
about the treatment at all is decided by ``bot.treatment_date``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterator, Optional

_NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "couple of": 2,
    "a couple of": 2,
    "few": 3,
    "a few": 3,
    "several": 4,
}
_UNIT_DAYS = {
    "day": 1,
    "days": 1,
    "week": 7,
    "weeks": 7,
    "wk": 7,
    "wks": 7,
    "fortnight": 14,
    "fortnights": 14,
    "month": 30,
    "months": 30,
}
_WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]

_NUM = r"(?P<num>\d{1,3}|" + "|".join(sorted(map(re.escape, _NUMBER_WORDS), key=len, reverse=True)) + r")"
_UNIT = r"(?P<unit>days?|weeks?|wks?|fortnights?|months?)"

_PATTERNS = [
    ("ago", re.compile(rf"\b{_NUM}\s+{_UNIT}\s+(?:ago|back|before|earlier)\b", re.I)),
    (
        "since",
        re.compile(
            rf"\b(?:for|since|about|almost|nearly|over|after|past|last|been)\s+{_NUM}\s+{_UNIT}\b", re.I
        ),
    ),
    ("day_n", re.compile(r"\bday\s+(?P<num>\d{1,3})\b", re.I)),
    (
        "relative",
        re.compile(
            r"\b(?P<rel>today|this morning|this afternoon|earlier today|tonight|yesterday|"
            r"the day before yesterday|last night|last week|a week ago|last month)\b",
            re.I,
        ),
    ),
    ("weekday", re.compile(r"\b(?:on|last|this past|was)\s+(?P<wd>" + "|".join(_WEEKDAYS) + r")\b", re.I)),
    (
        "ordinal",
        re.compile(
            r"\bon\s+the\s+(?P<dom>\d{1,2})(?:st|nd|rd|th)?(?:\s+of\s+(?P<mon>"
            + "|".join(_MONTHS)
            + r"))?\b",
            re.I,
        ),
    ),
    ("iso", re.compile(r"\b(?P<y>20\d\d)-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")),
]

_RELATIVE_DAYS = {
    "today": 0,
    "this morning": 0,
    "this afternoon": 0,
    "earlier today": 0,
    "tonight": 0,
    "yesterday": 1,
    "last night": 1,
    "the day before yesterday": 2,
    "last week": 7,
    "a week ago": 7,
    "last month": 30,
}

MAX_DAYS = 3650


@dataclass(frozen=True)
class DaysMention:
    """A phrase in the text that says how many days ago something happened."""

    days: int
    start: int
    end: int
    text: str
    kind: str = ""


def _to_number(token: str) -> Optional[int]:
    token = token.lower()
    if token.isdigit():
        return int(token)
    return _NUMBER_WORDS.get(token)


def _days_for(kind: str, match: re.Match[str], today: date) -> Optional[int]:
    groups = match.groupdict()
    if kind in ("ago", "since"):
        number = _to_number(groups["num"])
        if number is None:
            return None
        return number * _UNIT_DAYS[groups["unit"].lower()]
    if kind == "day_n":
        return int(groups["num"])
    if kind == "relative":
        return _RELATIVE_DAYS[groups["rel"].lower()]
    if kind == "weekday":
        delta = (today.weekday() - _WEEKDAYS.index(groups["wd"].lower())) % 7
        return delta or 7
    if kind == "ordinal":
        day = int(groups["dom"])
        month = _MONTHS.index(groups["mon"].lower()) + 1 if groups.get("mon") else today.month
        return _days_since_date(today, today.year, month, day)
    if kind == "iso":
        return _days_since_date(today, int(groups["y"]), int(groups["m"]), int(groups["d"]), roll_back=False)
    return None


def _days_since_date(today: date, year: int, month: int, day: int, roll_back: bool = True) -> Optional[int]:
    try:
        then = date(year, month, day)
    except ValueError:
        return None
    if then > today and roll_back:
        # "on the 28th" said on the 3rd means last month's 28th (or last year's month).
        if month == today.month:
            previous = today.replace(day=1) - timedelta(days=1)
            return _days_since_date(today, previous.year, previous.month, day, roll_back=False)
        return _days_since_date(today, year - 1, month, day, roll_back=False)
    if then > today:
        return None
    return (today - then).days


def find_days_mentions(text: str, today: Optional[date] = None) -> Iterator[DaysMention]:
    """Yield every phrase in ``text`` that names how many days ago something happened."""
    today = today or date.today()
    taken: list = []
    for kind, pattern in _PATTERNS:
        for match in pattern.finditer(text or ""):
            if any(match.start() < end and start < match.end() for start, end in taken):
                continue
            days = _days_for(kind, match, today)
            if days is None or days < 0 or days > MAX_DAYS:
                continue
            taken.append((match.start(), match.end()))
            yield DaysMention(days, match.start(), match.end(), match.group(0), kind)
