"""Owed flags: an escalation's flag and its alerts are written exactly once, whoever writes them."""

from __future__ import annotations

import contextlib
import threading
from datetime import timedelta

from sqlalchemy import select

from actions.providers import flag_writer
from bot.reconciler import OwedFlagRecorder, reconcile_once
from bot.storage import make_engine, make_session_factory, utcnow
from bot.storage.models import AlertOutbox, Flag
from bot.storage.owed_flags import OwedFlag, OwedFlagDetails
from bot.storage.owed_journal import append, journal_path
from tests.safety.conftest import count_flags_and_alerts

NO_GRACE = timedelta(0)


def _owed(turn="id:m1", conversation="p-1", level="urgent") -> OwedFlagDetails:
    return OwedFlagDetails(
        conversation_id=conversation,
        turn_key=turn,
        kind="triage",
        channel="rest",
        level=level,
        reason=f"{level}: fever",
        rule="fever.reported",
        matched_text="fever",
        message="I have a fever",
        channel_user_id=conversation,
    )


def _action_write(factory, details: OwedFlagDetails) -> None:
    """What action_record_flag does for the same message (conversation._store's arguments)."""
    flag_writer(lambda: factory)(
        conversation_id=details.conversation_id,
        channel=details.channel,
        level=details.level,
        kind=details.kind,
        reason=details.reason,
        rule=details.rule,
        matched_text=details.matched_text,
        message=details.message,
        channel_user_id=details.channel_user_id,
        turn_key=details.turn_key,
    )


def test_the_reconciler_creates_an_owed_flag_and_its_alerts_once(session_factory, tmp_path):
    recorder = OwedFlagRecorder(lambda: session_factory, journal_path(tmp_path))
    assert recorder.record(_owed()) == "database"
    assert recorder.record(_owed()) == "database"  # a redelivered message: same row
    first = reconcile_once(session_factory, journal_path(tmp_path), grace=NO_GRACE)
    second = reconcile_once(session_factory, journal_path(tmp_path), grace=NO_GRACE)
    assert len(first.settled) == 1 and second.settled == []
    assert count_flags_and_alerts(session_factory) == (1, 2)  # one urgent flag, email + webhook alerts
    with session_factory.begin() as session:
        flag = session.execute(select(Flag)).scalar_one()
        assert (flag.level, flag.kind, flag.conversation_id, flag.rule) == (
            "urgent",
            "triage",
            "p-1",
            "fever.reported",
        )


def test_the_reconciler_leaves_a_fresh_owed_flag_to_the_action_for_the_grace_period(
    session_factory, tmp_path
):
    OwedFlagRecorder(lambda: session_factory, journal_path(tmp_path)).record(_owed())
    report = reconcile_once(session_factory, journal_path(tmp_path), grace=timedelta(minutes=5))
    assert report.settled == [] and count_flags_and_alerts(session_factory) == (0, 0)
    later = reconcile_once(
        session_factory,
        journal_path(tmp_path),
        now=utcnow() + timedelta(minutes=6),
        grace=timedelta(minutes=5),
    )
    assert len(later.settled) == 1


def test_action_then_reconciler_writes_one_flag_and_one_set_of_alerts(session_factory, tmp_path):
    OwedFlagRecorder(lambda: session_factory, journal_path(tmp_path)).record(_owed())
    _action_write(session_factory, _owed())
    _action_write(session_factory, _owed())  # a retried action
    report = reconcile_once(session_factory, journal_path(tmp_path), grace=NO_GRACE)
    assert report.settled == []
    assert count_flags_and_alerts(session_factory) == (1, 2)
    with session_factory.begin() as session:
        row = session.execute(select(OwedFlag)).scalar_one()
        assert (row.status, row.settled_by, row.flag_id is not None) == ("settled", "action", True)


def test_reconciler_then_action_writes_one_flag_and_one_set_of_alerts(session_factory, tmp_path):
    OwedFlagRecorder(lambda: session_factory, journal_path(tmp_path)).record(_owed())
    assert len(reconcile_once(session_factory, journal_path(tmp_path), grace=NO_GRACE).settled) == 1
    _action_write(session_factory, _owed())
    assert count_flags_and_alerts(session_factory) == (1, 2)


def test_action_and_reconciler_racing_on_many_turns_write_each_flag_once(session_factory, tmp_path):
    journal = journal_path(tmp_path)
    turns = [_owed(turn=f"id:m{i}", conversation=f"p-{i}") for i in range(20)]
    recorder = OwedFlagRecorder(lambda: session_factory, journal)
    for details in turns:
        recorder.record(details)
    errors = []

    def actions() -> None:
        for details in turns:
            try:
                _action_write(session_factory, details)
            except Exception as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)

    def reconciler() -> None:
        for _ in range(5):
            try:
                reconcile_once(session_factory, journal, grace=NO_GRACE)
            except Exception as error:  # noqa: BLE001 - collected and asserted below
                errors.append(error)

    threads = [threading.Thread(target=actions), threading.Thread(target=reconciler)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    reconcile_once(session_factory, journal, grace=NO_GRACE)
    assert errors == []
    assert count_flags_and_alerts(session_factory) == (20, 40)
    with session_factory.begin() as session:
        assert {row.status for row in session.execute(select(OwedFlag)).scalars()} == {"settled"}


def test_a_database_outage_at_escalation_time_is_bridged_by_the_journal(session_factory, tmp_path):
    journal = journal_path(tmp_path / "var")
    broken = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'no-tables.db'}"))
    recorder = OwedFlagRecorder(lambda: broken, journal, sleep=lambda seconds: None)
    assert recorder.record(_owed(turn="id:a")) == "journal"
    assert recorder.record(_owed(turn="id:a")) == "journal"  # redelivered while still down
    assert journal.exists() and count_flags_and_alerts(session_factory) == (0, 0)
    report = reconcile_once(session_factory, journal, grace=NO_GRACE)
    assert report.imported == 2 and len(report.settled) == 1
    assert count_flags_and_alerts(session_factory) == (1, 2)
    assert reconcile_once(session_factory, journal, grace=NO_GRACE).imported == 0


def test_a_failed_import_keeps_the_journal_for_the_next_round(session_factory, tmp_path):
    journal = journal_path(tmp_path)
    append(journal, _owed())
    broken = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'no-tables.db'}"))
    with contextlib.suppress(Exception):  # the round fails while the tables are missing
        reconcile_once(broken, journal, grace=NO_GRACE)
    assert reconcile_once(session_factory, journal, grace=NO_GRACE).imported == 1
    assert count_flags_and_alerts(session_factory) == (1, 2)


def test_a_line_cut_short_by_a_crash_is_skipped_and_the_rest_imported(session_factory, tmp_path):
    journal = journal_path(tmp_path)
    append(journal, _owed(turn="id:a"))
    with journal.open("a", encoding="utf-8") as handle:
        handle.write('{"conversation_id": "p-1", "turn_k')
    append(journal, _owed(turn="id:b", conversation="p-2"))
    report = reconcile_once(session_factory, journal, grace=NO_GRACE)
    assert report.imported == 2 and len(report.settled) == 2


def test_a_worse_turn_raises_the_flag_and_alerts_again_a_same_level_turn_does_not(session_factory, tmp_path):
    journal = journal_path(tmp_path)
    recorder = OwedFlagRecorder(lambda: session_factory, journal)
    recorder.record(_owed(turn="id:1", level="routine"))
    recorder.record(_owed(turn="id:2", level="urgent"))
    recorder.record(_owed(turn="id:3", level="urgent"))
    reconcile_once(session_factory, journal, grace=NO_GRACE)
    with session_factory.begin() as session:
        flag = session.execute(select(Flag)).scalar_one()
        alerts = [(a.event, a.level) for a in session.execute(select(AlertOutbox)).scalars()]
    assert flag.level == "urgent"
    assert sorted(alerts) == [("raised", "urgent"), ("raised", "urgent")]


def test_a_reconciled_flag_is_dated_when_the_patient_was_escalated(session_factory, tmp_path):
    """Queue order and response-time deadlines run from the escalation, not the catch-up."""
    OwedFlagRecorder(lambda: session_factory, journal_path(tmp_path)).record(_owed())
    with session_factory.begin() as session:
        owed_at = session.execute(select(OwedFlag)).scalar_one().created_at
    reconcile_once(
        session_factory, journal_path(tmp_path), now=owed_at + timedelta(minutes=20), grace=NO_GRACE
    )
    with session_factory.begin() as session:
        assert session.execute(select(Flag)).scalar_one().created_at == owed_at
