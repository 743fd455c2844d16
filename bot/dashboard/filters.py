"""Reading the queue's filter form and date ranges from the query string."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Dict, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo

from bot.storage.queue import QueueFilter
from bot.storage.vocabulary import FLAG_LEVELS, FLAG_STATUSES, UNRESOLVED_STATUSES

STATUS_CHOICES: Dict[str, Tuple[str, ...]] = {
    "unresolved": UNRESOLVED_STATUSES,
    **{status: (status,) for status in FLAG_STATUSES},
    "all": (),
}


class BadDateError(ValueError):
    """Raised for a date that is not ``YYYY-MM-DD`` or a range that ends before it starts."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def parse_day(value: Optional[str]) -> Optional[date]:
    """Parse ``YYYY-MM-DD`` (empty means no date)."""
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadDateError("bad_date") from None


def day_range(
    start: Optional[date], end: Optional[date], zone: ZoneInfo
) -> Tuple[Optional[datetime], Optional[datetime]]:
    """Turn local calendar days (both inclusive) into a half-open UTC interval."""
    if start and end and end < start:
        raise BadDateError("bad_date_range")
    begin = datetime.combine(start, time.min, zone).astimezone(timezone.utc) if start else None
    finish = (
        datetime.combine(end + timedelta(days=1), time.min, zone).astimezone(timezone.utc) if end else None
    )
    return begin, finish


@dataclass
class QueueForm:
    """The queue filter form as submitted (kept as text to refill the form)."""

    level: str = ""
    status: str = "unresolved"
    channel: str = ""
    date_from: str = ""
    date_to: str = ""
    page: int = 1
    errors: list = field(default_factory=list)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> QueueForm:
        page = args.get("page", "1")
        return cls(
            level=args.get("level", "") if args.get("level", "") in FLAG_LEVELS else "",
            status=args.get("status", "unresolved") if args.get("status") in STATUS_CHOICES else "unresolved",
            channel=args.get("channel", "")[:64],
            date_from=args.get("from", "")[:10],
            date_to=args.get("to", "")[:10],
            page=max(int(page), 1) if page.isdigit() else 1,
        )

    def to_filter(self, zone: ZoneInfo) -> QueueFilter:
        """Build the storage filter; bad dates are dropped and remembered in ``errors``."""
        try:
            created_from, created_to = day_range(parse_day(self.date_from), parse_day(self.date_to), zone)
        except BadDateError as error:
            self.errors.append(error.code)
            created_from = created_to = None
        return QueueFilter(
            statuses=STATUS_CHOICES[self.status],
            levels=(self.level,) if self.level else (),
            channel=self.channel or None,
            created_from=created_from,
            created_to=created_to,
        )

    def query(self, **overrides: object) -> Dict[str, object]:
        """Return the query string values for links that keep the current filters."""
        values: Dict[str, object] = {
            "level": self.level,
            "status": self.status,
            "channel": self.channel,
            "from": self.date_from,
            "to": self.date_to,
            "page": self.page,
        }
        values.update(overrides)
        return {key: value for key, value in values.items() if value not in ("", None)}
