"""Check-in due times: the clinic's local send time on each check-in day, across time zones and DST."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bot.checkins.schedule import due_times
from bot.settings import Settings, SettingsError


def test_days_at_local_send_time_in_winter() -> None:
    due = due_times(date(2026, 12, 1), [1, 3, 7], "10:00", "Europe/London")
    assert [(d.day, d.due_at) for d in due] == [
        (1, datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)),
        (3, datetime(2026, 12, 4, 10, 0, tzinfo=timezone.utc)),
        (7, datetime(2026, 12, 8, 10, 0, tzinfo=timezone.utc)),
    ]


def test_summer_time_moves_the_utc_moment_not_the_local_time() -> None:
    # London switches to BST on 29 March 2026: day 1 is still 10:00 local, i.e. 09:00 UTC.
    due = due_times(date(2026, 3, 28), [0, 1], "10:00", "Europe/London")
    assert [d.due_at.hour for d in due] == [10, 9]


def test_other_zone_and_duplicate_days() -> None:
    due = due_times(date(2026, 12, 1), [3, 1, 3], "09:30", "America/New_York")
    assert [(d.day, d.due_at) for d in due] == [
        (1, datetime(2026, 12, 2, 14, 30, tzinfo=timezone.utc)),
        (3, datetime(2026, 12, 4, 14, 30, tzinfo=timezone.utc)),
    ]


def test_settings_read_and_refuse_nonsense() -> None:
    settings = Settings.from_env(
        {
            "AFTERCARE_CHECKIN_SEND_TIME": "9:05",
            "AFTERCARE_CHECKIN_GRACE_HOURS": "3",
            "AFTERCARE_TIMEZONE": "Europe/Berlin",
        }
    ).checkins
    assert (settings.send_time, settings.grace_hours, settings.timezone) == ("09:05", 3, "Europe/Berlin")
    with pytest.raises(SettingsError, match="AFTERCARE_CHECKIN_SEND_TIME"):
        Settings.from_env({"AFTERCARE_CHECKIN_SEND_TIME": "25:00"})
    with pytest.raises(SettingsError, match="OPENING_HOURS"):
        Settings.from_env({"AFTERCARE_CHECKIN_SEND_TIME": "07:00"})  # before the 09:00-18:00 default
    with pytest.raises(SettingsError, match="AFTERCARE_CHECKIN_GRACE_HOURS"):
        Settings.from_env({"AFTERCARE_CHECKIN_GRACE_HOURS": "soon"})
