"""Retention: old flags, their alerts and old tracker events go; recent ones stay."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, text

from bot.storage.flags import raise_flag
from bot.storage.models import AlertOutbox, Flag
from bot.storage.retention import parse_period, purge
from tests.storage.rasa_events import add_event, create_rasa_events_table, user

NOW = datetime(2024, 12, 1, tzinfo=timezone.utc)
CUTOFF = NOW - timedelta(days=180)


def flag_at(session, conversation_id, when, level="urgent"):
    return raise_flag(
        session=session,
        conversation_id=conversation_id,
        channel="rest",
        level=level,
        kind="triage",
        reason="r",
        rule="r",
        matched_text="m",
        message="m",
        now=when,
    )


def counts(session):
    return (
        session.execute(select(func.count(Flag.id))).scalar_one(),
        session.execute(select(func.count(AlertOutbox.id))).scalar_one(),
    )


@pytest.mark.parametrize("text_, days", [("180d", 180), ("26w", 182), ("30", 30), (" 7D ", 7)])
def test_periods_are_days_or_weeks(text_, days):
    assert parse_period(text_) == timedelta(days=days)


@pytest.mark.parametrize("text_", ["", "0d", "six months", "-5d", "3m"])
def test_nonsense_periods_are_refused(text_):
    with pytest.raises(ValueError):
        parse_period(text_)


def test_old_flags_and_their_alerts_are_deleted_recent_ones_kept(session_factory):
    with session_factory.begin() as session:
        flag_at(session, "old", CUTOFF - timedelta(days=1))
        flag_at(session, "recent", CUTOFF + timedelta(days=1))
    with session_factory.begin() as session:
        report = purge(session=session, before=CUTOFF)
    assert (report.flags, report.alerts, report.events, report.conversations) == (1, 2, 0, 0)
    with session_factory.begin() as session:
        assert counts(session) == (1, 2)
        assert session.execute(select(Flag.conversation_id)).scalar_one() == "recent"


def test_a_recently_handled_flag_is_kept_even_if_created_long_ago(session_factory):
    with session_factory.begin() as session:
        flag = flag_at(session, "old-but-active", CUTOFF - timedelta(days=30))
        flag.updated_at = CUTOFF + timedelta(days=1)
    with session_factory.begin() as session:
        assert purge(session=session, before=CUTOFF).flags == 0


def test_a_dry_run_counts_without_deleting(engine, session_factory):
    create_rasa_events_table(engine)
    add_event(engine, "old-conv", user("hi", "greet", (CUTOFF - timedelta(days=2)).timestamp()))
    with session_factory.begin() as session:
        flag_at(session, "old", CUTOFF - timedelta(days=1))
    with session_factory.begin() as session:
        report = purge(session=session, before=CUTOFF, dry_run=True)
    assert (report.flags, report.alerts, report.events, report.conversations, report.dry_run) == (
        1,
        2,
        1,
        1,
        True,
    )
    with session_factory.begin() as session:
        assert counts(session) == (1, 2)
        assert session.execute(text("SELECT COUNT(*) FROM events")).scalar_one() == 1


def test_old_tracker_events_are_deleted_from_rasas_table(engine, session_factory):
    create_rasa_events_table(engine)
    for sender, days in (("old-a", -10), ("old-a", -9), ("old-b", -1), ("recent", 3)):
        add_event(engine, sender, user("hello", "greet", (CUTOFF + timedelta(days=days)).timestamp()))
    with session_factory.begin() as session:
        report = purge(session=session, before=CUTOFF)
    assert (report.events, report.conversations) == (3, 2)
    with session_factory.begin() as session:
        remaining = session.execute(text("SELECT DISTINCT sender_id FROM events")).scalars().all()
    assert remaining == ["recent"]


def test_without_a_tracker_table_only_our_tables_are_purged(session_factory):
    with session_factory.begin() as session:
        report = purge(session=session, before=CUTOFF)
    assert (report.events, report.conversations) == (0, 0)
    assert "cutoff=2024-06-04T00:00:00+00:00 flags=0" in report.summary()


def test_quarantined_events_are_purged_with_the_conversations(session_factory):
    from bot.storage.quarantine import QuarantinedEvent, UnreadableEvent, quarantine_events

    def bad(event_id):
        return UnreadableEvent("p", event_id, "user", None, "ValueError", "{not json")

    with session_factory.begin() as session:
        quarantine_events(session=session, events=[bad(1)], now=CUTOFF - timedelta(days=1))
        quarantine_events(session=session, events=[bad(2)], now=NOW)
    with session_factory.begin() as session:
        dry = purge(session=session, before=CUTOFF, dry_run=True)
    assert dry.quarantined_events == 1
    with session_factory.begin() as session:
        report = purge(session=session, before=CUTOFF)
        remaining = session.execute(select(QuarantinedEvent.event_id)).scalars().all()
    assert report.quarantined_events == 1
    assert remaining == [2]


def test_settled_owed_flags_go_with_retention_unsettled_ones_stay(session_factory):
    from bot.storage.owed_flags import OwedFlagDetails, record_owed
    from bot.storage.owed_table import OwedFlag

    def owed(key):
        return OwedFlagDetails("p", key, "triage", "rest", "urgent", "r", "r", "m", "message text")

    with session_factory.begin() as session:
        for key in ("settled-old", "owed-old", "settled-new"):
            when = NOW if key.endswith("new") else CUTOFF - timedelta(days=1)
            record_owed(session=session, details=owed(key), now=when)
        session.execute(
            OwedFlag.__table__.update()
            .where(OwedFlag.turn_key.like("settled%"))
            .values(status="settled", settled_by="action")
        )
    with session_factory.begin() as session:
        purge(session=session, before=CUTOFF)
        left = sorted(session.execute(select(OwedFlag.turn_key)).scalars())
    assert left == ["owed-old", "settled-new"]
