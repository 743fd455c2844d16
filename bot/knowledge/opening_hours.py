"""Opening hours in the clinic's time zone: is the clinic open now, and when is N open hours later.

Deadlines for routine flags and hand-offs count only the time the clinic is open ("4 hours"
asked at 17:00 on a Friday falls due on Monday), and the escalation chain switches to the
on-call list out of hours; both read the clinic file's ``timezone`` and ``hours``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Dict, List, Mapping, Tuple
from zoneinfo import ZoneInfo

DAYS: Tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# How far ahead add_open_time looks for opening hours before deciding there are none.
SEARCH_DAYS = 400

Span = Tuple[time, time]


def parse_span(text: str) -> Span:
    """Parse ``"09:00-18:00"`` into (opens, closes); closing must come after opening."""
    opens_text, sep, closes_text = text.partition("-")
    if not sep:
        raise ValueError(f"expected opening hours like 09:00-18:00, not {text!r}")
    opens = time.fromisoformat(opens_text.strip())
    closes = time.fromisoformat(closes_text.strip())
    if closes <= opens:
        raise ValueError(f"the clinic must close after it opens: {text!r}")
    return opens, closes


@dataclass(frozen=True)
class OpeningHours:
    """Weekly opening hours (day name -> spans) in one IANA time zone; no hours means always open."""

    timezone: str = "UTC"
    week: Mapping[str, Tuple[Span, ...]] = field(default_factory=dict)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def always_open(self) -> bool:
        return not any(self.week.values())

    def spans_on(self, day: date) -> List[Tuple[datetime, datetime]]:
        """Return the day's open spans as aware UTC datetimes, earliest first."""
        zone = self.zone
        spans = sorted(self.week.get(DAYS[day.weekday()], ()))
        return [
            (
                datetime.combine(day, opens, tzinfo=zone).astimezone(ZoneInfo("UTC")),
                datetime.combine(day, closes, tzinfo=zone).astimezone(ZoneInfo("UTC")),
            )
            for opens, closes in spans
        ]

    def is_open(self, moment: datetime) -> bool:
        """Tell whether the clinic is open at ``moment`` (an aware datetime)."""
        if self.always_open:
            return True
        day = moment.astimezone(self.zone).date()
        return any(opens <= moment < closes for opens, closes in self.spans_on(day))

    def add_open_time(self, start: datetime, amount: timedelta) -> datetime:
        """Return the moment ``amount`` of opening time after ``start`` has passed."""
        if self.always_open:
            return start + amount
        remaining = amount
        day = start.astimezone(self.zone).date() - timedelta(days=1)
        for _ in range(SEARCH_DAYS):
            for opens, closes in self.spans_on(day):
                begin = max(opens, start)
                if closes <= begin:
                    continue
                if remaining <= closes - begin:
                    return begin + remaining
                remaining -= closes - begin
            day += timedelta(days=1)
        raise ValueError("the opening hours leave no open time within a year")


def parse_week(data: Mapping[str, object]) -> Dict[str, Tuple[Span, ...]]:
    """Parse ``{"monday": "09:00-18:00", "saturday": ["09:00-12:00", "13:00-16:00"]}``."""
    week: Dict[str, Tuple[Span, ...]] = {}
    for name, value in data.items():
        day = str(name).strip().lower()
        if day not in DAYS:
            raise ValueError(f"unknown day {name!r}; use {', '.join(DAYS)}")
        texts = value if isinstance(value, list) else [value]
        if not all(isinstance(text, str) for text in texts):
            raise ValueError(f'{name}: opening hours are text like "09:00-18:00"')
        week[day] = tuple(parse_span(str(text)) for text in texts if str(text).strip().lower() != "closed")
    return week
