"""When each check-in is due: the check-in day at the clinic's send time, as a UTC moment.

Pure functions: the time zone and the send time are passed in, so a test can ask for any
clinic's schedule, and daylight-saving changes are handled by ``zoneinfo``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import List, Sequence
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Due:
    """One check-in: the day after the treatment and the moment it is due (UTC)."""

    day: int
    due_at: datetime


def parse_clock(value: str) -> time:
    """Read ``HH:MM`` (already validated by the settings)."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def due_times(treatment_date: date, days: Sequence[int], send_time: str, zone: str) -> List[Due]:
    """Return each check-in day's due moment: ``treatment_date + day`` at ``send_time`` in ``zone``."""
    local = ZoneInfo(zone)
    clock = parse_clock(send_time)
    result = []
    for day in sorted(set(days)):
        moment = datetime.combine(treatment_date + timedelta(days=day), clock, tzinfo=local)
        result.append(Due(day, moment.astimezone(timezone.utc)))
    return result


def local_time(moment: datetime, zone: str) -> datetime:
    """Show a stored UTC moment in the clinic's time zone."""
    return moment.astimezone(ZoneInfo(zone))
