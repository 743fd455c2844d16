"""The review queue order, filters and counts."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.storage import queue
from bot.storage.flags import raise_flag, resolve
from bot.storage.queue import QueueFilter

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


def add(session, conversation_id, level, *, minutes, channel="telegram", kind=None):
    kind = kind or ("triage" if level in ("emergency", "urgent", "routine") else level)
    return raise_flag(
        session=session,
        conversation_id=conversation_id,
        channel=channel,
        level=level,
        kind=kind,
        reason="r",
        rule="r",
        matched_text="m",
        message="m",
        now=T0 + timedelta(minutes=minutes),
    )


def conversation_ids(flags):
    return [flag.conversation_id for flag in flags]


def test_emergencies_come_first_then_urgent_then_the_rest_newest_first(session):
    add(session, "routine-old", "routine", minutes=0)
    add(session, "urgent-old", "urgent", minutes=1)
    add(session, "emergency", "emergency", minutes=2)
    add(session, "handoff-new", "handoff", minutes=3)
    add(session, "urgent-new", "urgent", minutes=4)
    assert conversation_ids(queue.list_flags(session=session)) == [
        "emergency",
        "urgent-new",
        "urgent-old",
        "handoff-new",
        "routine-old",
    ]


def test_filters_and_counts(session):
    add(session, "a", "urgent", minutes=0, channel="twilio")
    add(session, "b", "urgent", minutes=60 * 24, channel="telegram")
    done = add(session, "c", "emergency", minutes=5, channel="telegram")
    resolve(session=session, flag=done, by="nurse", outcome="advised_visit")
    assert conversation_ids(queue.list_flags(session=session)) == ["b", "a"]
    assert conversation_ids(queue.list_flags(session=session, flt=QueueFilter(statuses=("resolved",)))) == [
        "c"
    ]
    assert conversation_ids(queue.list_flags(session=session, flt=QueueFilter(channel="twilio"))) == ["a"]
    one_day = QueueFilter(created_from=T0, created_to=T0 + timedelta(days=1))
    assert conversation_ids(queue.list_flags(session=session, flt=one_day)) == ["a"]
    assert queue.count_flags(session=session, flt=QueueFilter(statuses=())) == 3
    counts = queue.counts_by_level(session=session, flt=QueueFilter(levels=("emergency",)))
    assert counts == {"emergency": 0, "urgent": 2, "routine": 0, "handoff": 0, "fallback": 0}
    assert queue.known_channels(session=session) == ["telegram", "twilio"]


def test_export_takes_a_half_open_date_range_oldest_first(session):
    add(session, "a", "urgent", minutes=0)
    add(session, "b", "routine", minutes=30)
    add(session, "c", "urgent", minutes=60)
    exported = queue.flags_for_export(session=session, created_from=T0, created_to=T0 + timedelta(minutes=60))
    assert conversation_ids(exported) == ["a", "b"]
