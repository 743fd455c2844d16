"""Opening hours, targets and the escalation chain as the clinic file states them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml

from bot.deadlines.fallback import (
    FALLBACK_EMERGENCY,
    FALLBACK_OUT_OF_HOURS,
    FALLBACK_PHONE,
    render,
    response_for,
)
from bot.knowledge.clinic import SHIPPED_EXAMPLE, load_clinic_file
from bot.knowledge.deadline_policy import describe, parse_duration, parse_policy, target_values
from bot.knowledge.errors import KnowledgeError

WEEKDAYS = {day: "09:00-18:00" for day in ("monday", "tuesday", "wednesday", "thursday", "friday")}
# Friday 3 May 2024, 16:00 in London (BST = UTC+1).
FRIDAY_4PM = datetime(2024, 5, 3, 15, 0, tzinfo=timezone.utc)


def test_is_open_reads_the_hours_in_the_clinic_time_zone():
    hours = parse_policy("Europe/London", WEEKDAYS, None).hours
    assert hours.is_open(FRIDAY_4PM)
    assert not hours.is_open(FRIDAY_4PM + timedelta(hours=2))  # 18:00 London: closed
    assert hours.is_open(datetime(2024, 5, 3, 8, 30, tzinfo=timezone.utc))  # 09:30 London
    assert not hours.is_open(datetime(2024, 5, 4, 12, 0, tzinfo=timezone.utc))  # Saturday
    # The same UTC moment is inside opening hours in New York's evening? No: 11:30 there.
    assert parse_policy("America/New_York", WEEKDAYS, None).hours.is_open(FRIDAY_4PM)


def test_an_opening_hours_clock_pauses_over_the_weekend():
    policy = parse_policy(
        "Europe/London", WEEKDAYS, {"targets": {"handoff": {"target": "4h", "clock": "opening_hours"}}}
    )
    due = policy.targets["handoff"].due(policy.hours, FRIDAY_4PM)
    # 2 hours on Friday (16:00-18:00), 2 more on Monday from 09:00: 11:00 London = 10:00 UTC.
    assert due == datetime(2024, 5, 6, 10, 0, tzinfo=timezone.utc)


def test_a_wall_clock_target_uses_the_out_of_hours_value_when_closed():
    policy = parse_policy(
        "Europe/London", WEEKDAYS, {"targets": {"urgent": {"target": "30m", "out_of_hours": "1h"}}}
    )
    urgent = policy.targets["urgent"]
    assert urgent.due(policy.hours, FRIDAY_4PM) == FRIDAY_4PM + timedelta(minutes=30)
    late = FRIDAY_4PM + timedelta(hours=4)
    assert urgent.due(policy.hours, late) == late + timedelta(hours=1)
    assert urgent.due(policy.hours, late, steps=2) == late + timedelta(hours=2)


def test_the_on_call_list_is_used_out_of_hours():
    policy = parse_policy(
        "Europe/London",
        WEEKDAYS,
        {
            "chain": [{"name": "Nurse", "email": "nurse@example.org"}],
            "on_call": [{"webhook": "https://x.example/h"}],
        },
    )
    assert [r.name for r in policy.recipients(FRIDAY_4PM)] == ["Nurse"]
    assert [r.channel for r in policy.recipients(FRIDAY_4PM + timedelta(hours=3))] == ["webhook"]


@pytest.mark.parametrize(
    ("timezone_name", "hours", "deadlines", "problem"),
    [
        ("Mars/Olympus", {}, None, "unknown time zone"),
        ("UTC", {"funday": "09:00-10:00"}, None, "unknown day"),
        ("UTC", {"monday": "18:00-09:00"}, None, "close after it opens"),
        ("UTC", {}, {"targets": {"urgent": "soon"}}, "duration"),
        ("UTC", {}, {"targets": {"urgentish": "5m"}}, "unknown level"),
        ("UTC", {}, {"chain": [{"email": "not-an-address"}]}, "not an email"),
        ("UTC", {}, {"chain": [{"email": "a@b.org", "webhook": "https://x"}]}, "exactly one"),
        ("UTC", {}, {"escalate": []}, "unknown key"),
    ],
)
def test_mistakes_in_the_clinic_file_are_refused_with_a_reason(timezone_name, hours, deadlines, problem):
    with pytest.raises(ValueError, match=problem):
        parse_policy(timezone_name, hours, deadlines)


def test_the_clinic_file_loader_reports_a_bad_deadline_setting(tmp_path: Path):
    data = yaml.safe_load(SHIPPED_EXAMPLE.read_text(encoding="utf-8"))
    data["deadlines"]["targets"]["urgent"] = "half an hour"
    path = tmp_path / "clinic.yml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="duration"):
        load_clinic_file(path)


def test_the_shipped_example_states_targets_that_escalation_replies_can_use():
    clinic = load_clinic_file(SHIPPED_EXAMPLE)
    values = clinic.as_template_values()
    assert values["response_target_emergency"] == "5 minutes"
    assert values["response_target_urgent"] == "30 minutes"
    assert values["response_target_handoff"] == "4 hours"
    assert clinic.deadlines.chain and clinic.deadlines.on_call
    assert clinic.deadlines.hours.timezone == "Europe/London"


def test_targets_are_said_in_words():
    assert describe(parse_duration("1m")) == "1 minute"
    assert describe(parse_duration("90s")) == "90 seconds"
    assert describe(parse_duration("2d")) == "2 days"
    assert (
        target_values(parse_policy("UTC", {}, {"targets": {"urgent": "1h"}}))["response_target_urgent"]
        == "1 hour"
    )


def test_the_fallback_route_depends_on_level_and_opening_hours():
    assert response_for("emergency", clinic_open=True) == FALLBACK_EMERGENCY
    assert response_for("urgent", clinic_open=False) == FALLBACK_OUT_OF_HOURS
    assert response_for("urgent", clinic_open=True) == FALLBACK_PHONE
    assert response_for("handoff", clinic_open=False) == FALLBACK_PHONE
    values = load_clinic_file(SHIPPED_EXAMPLE).as_template_values()
    for name in (FALLBACK_EMERGENCY, FALLBACK_OUT_OF_HOURS, FALLBACK_PHONE):
        assert "{" not in render(name, values)
    assert values["out_of_hours"] in render(FALLBACK_OUT_OF_HOURS, values)
