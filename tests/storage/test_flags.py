"""Flags: de-duplication, level raising, alert queueing, staff actions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.storage.flags import (
    FLAG_LEVELS,
    FlagKind,
    InvalidTransitionError,
    acknowledge,
    raise_flag,
    reopen,
    resolve,
)
from bot.storage.models import AlertOutbox, Flag

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)


def flag(
    session, *, level="routine", kind="triage", conversation_id="conv-1", now=T0, message="I have a fever"
):
    return raise_flag(
        session=session,
        conversation_id=conversation_id,
        channel="telegram",
        channel_user_id="12345678",
        level=level,
        kind=kind,
        reason=f"{level} reason",
        rule=f"rule_{level}",
        matched_text="fever",
        message=message,
        now=now,
    )


def all_flags(session):
    return list(session.execute(select(Flag)).scalars())


def alerts(session):
    return list(session.execute(select(AlertOutbox).order_by(AlertOutbox.id)).scalars())


def test_the_contract_constants():
    assert FLAG_LEVELS == ("emergency", "urgent", "routine", "handoff", "fallback")
    assert [kind.value for kind in FlagKind] == ["triage", "handoff", "fallback"]


def test_a_new_flag_is_open_and_keeps_what_triggered_it(session):
    created = flag(session, level="urgent")
    assert created.id is not None
    assert (created.status, created.level, created.kind) == ("open", "urgent", "triage")
    assert (created.rule, created.matched_text, created.message) == ("rule_urgent", "fever", "I have a fever")
    assert created.created_at == created.updated_at == T0
    assert created.created_at.tzinfo is not None


def test_repeating_the_same_complaint_does_not_duplicate(session):
    first = flag(session, level="urgent")
    for minutes in (1, 2):
        again = flag(session, level="urgent", now=T0 + timedelta(minutes=minutes))
        assert again.id == first.id
    assert len(all_flags(session)) == 1
    assert len(alerts(session)) == 2  # one per channel, for the first flag only


def test_a_worse_level_raises_the_open_flag(session):
    first = flag(session, level="routine")
    later = T0 + timedelta(minutes=5)
    raised = raise_flag(
        session=session,
        conversation_id="conv-1",
        channel="telegram",
        level="emergency",
        kind="triage",
        reason="allergic reaction",
        rule="anaphylaxis",
        matched_text="throat swelling",
        message="my throat is swelling",
        now=later,
    )
    assert raised.id == first.id
    assert (raised.level, raised.rule, raised.matched_text) == ("emergency", "anaphylaxis", "throat swelling")
    assert raised.message == "my throat is swelling"
    assert raised.created_at == T0 and raised.updated_at == later


def test_a_milder_level_leaves_the_flag_alone(session):
    flag(session, level="urgent")
    milder = flag(session, level="routine", now=T0 + timedelta(minutes=1), message="still a bit red")
    assert milder.level == "urgent" and milder.message == "I have a fever"
    assert milder.updated_at == T0


@pytest.mark.parametrize(
    "levels, expected_alert_events",
    [
        (["routine"], []),
        (["urgent"], ["created"]),
        (["emergency"], ["created"]),
        (["routine", "urgent"], ["raised"]),
        (["urgent", "emergency"], ["created", "raised"]),
        (["urgent", "urgent", "routine"], ["created"]),
    ],
)
def test_alerts_are_queued_for_new_and_raised_urgent_flags(session, levels, expected_alert_events):
    for minute, level in enumerate(levels):
        flag(session, level=level, now=T0 + timedelta(minutes=minute))
    queued = alerts(session)
    assert sorted({(row.event, row.channel) for row in queued}) == sorted(
        {(event, channel) for event in expected_alert_events for channel in ("email", "webhook")}
    )
    assert all(row.status == "pending" and row.attempts == 0 for row in queued)


def test_alerts_are_queued_in_the_callers_transaction(session_factory):
    with pytest.raises(RuntimeError), session_factory.begin() as session:
        flag(session, level="emergency")
        raise RuntimeError("the action failed after flagging")
    with session_factory.begin() as session:
        assert all_flags(session) == [] and alerts(session) == []


def test_kinds_are_separate_and_conversations_are_separate(session):
    triage = flag(session, level="urgent")
    handoff = flag(session, level="handoff", kind="handoff")
    other = flag(session, level="urgent", conversation_id="conv-2")
    assert len({triage.id, handoff.id, other.id}) == 3


def test_an_acknowledged_flag_is_reused_and_reopened_by_a_worse_level(session):
    first = flag(session, level="urgent")
    acknowledge(session=session, flag=first, by="nurse")
    again = flag(session, level="urgent", now=T0 + timedelta(minutes=1))
    assert again.id == first.id and again.status == "acknowledged"
    worse = flag(session, level="emergency", now=T0 + timedelta(minutes=2))
    assert worse.id == first.id and worse.status == "open"


def test_after_resolution_a_new_complaint_opens_a_new_flag(session):
    first = flag(session, level="urgent")
    resolve(session=session, flag=first, by="nurse", outcome="contacted_patient", note="called back")
    session.flush()
    second = flag(session, level="urgent", now=T0 + timedelta(hours=1))
    assert second.id != first.id
    with pytest.raises(InvalidTransitionError):
        reopen(session=session, flag=first)


@pytest.mark.parametrize(
    "level, kind",
    [("severe", "triage"), ("urgent", "complaint"), ("handoff", "triage"), ("fallback", "triage")],
)
def test_unknown_levels_and_kinds_are_refused(session, level, kind):
    with pytest.raises(ValueError):
        flag(session, level=level, kind=kind)


def test_staff_actions_record_who_and_when(session):
    created = flag(session, level="urgent")
    acknowledge(session=session, flag=created, by="nurse", now=T0 + timedelta(minutes=1))
    assert (created.status, created.acknowledged_by, created.assignee) == ("acknowledged", "nurse", "nurse")
    resolve(
        session=session,
        flag=created,
        by="doctor",
        outcome="advised_visit",
        note=" see Monday ",
        now=T0 + timedelta(minutes=2),
    )
    assert (created.status, created.outcome, created.note, created.resolved_by) == (
        "resolved",
        "advised_visit",
        "see Monday",
        "doctor",
    )
    assert created.resolved_at == T0 + timedelta(minutes=2)
    reopen(session=session, flag=created, now=T0 + timedelta(minutes=3))
    assert (created.status, created.outcome, created.resolved_by, created.note) == (
        "open",
        None,
        None,
        "see Monday",
    )
    with pytest.raises(ValueError):
        resolve(session=session, flag=created, by="doctor", outcome="shrugged")


def test_invalid_transitions_are_refused(session):
    created = flag(session, level="urgent")
    with pytest.raises(InvalidTransitionError):
        reopen(session=session, flag=created)
    acknowledge(session=session, flag=created, by="nurse")
    with pytest.raises(InvalidTransitionError):
        acknowledge(session=session, flag=created, by="nurse")
    resolve(session=session, flag=created, by="nurse", outcome="false_alarm")
    with pytest.raises(InvalidTransitionError):
        resolve(session=session, flag=created, by="nurse", outcome="false_alarm")


def test_the_database_refuses_a_second_unresolved_flag(session_factory):
    """Even a writer that bypasses raise_flag cannot create a duplicate (concurrency guard)."""
    from sqlalchemy.exc import IntegrityError

    with session_factory.begin() as session:
        flag(session, level="urgent")
    with pytest.raises(IntegrityError), session_factory.begin() as session:
        session.add(
            Flag(
                conversation_id="conv-1",
                channel="x",
                level="urgent",
                kind="triage",
                reason="r",
                rule="r",
                matched_text="m",
                message="m",
                status="open",
                created_at=T0,
                updated_at=T0,
            )
        )


def test_a_concurrent_insert_is_merged_instead_of_failing(session, monkeypatch):
    """The unique index catches a flag written between our read and our insert."""
    from bot.storage import flags as flags_module

    first = flag(session, level="routine")
    real_lookup = flags_module.unresolved_flag
    calls = []

    def stale_lookup(**kwargs):
        calls.append(kwargs)
        return None if len(calls) == 1 else real_lookup(**kwargs)

    monkeypatch.setattr(flags_module, "unresolved_flag", stale_lookup)
    merged = flag(session, level="urgent", now=T0 + timedelta(minutes=1))
    assert merged.id == first.id and merged.level == "urgent"
    assert len(all_flags(session)) == 1
    assert [row.event for row in alerts(session)] == ["raised", "raised"]
