"""Writers never fail under concurrency: flags and tracker events written at once to one SQLite file."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from typing import Callable, List

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from bot.settings import PROJECT_ROOT
from bot.storage import make_engine, make_session_factory, run_write
from bot.storage.flags import raise_flag
from bot.storage.models import AlertOutbox, Base, Flag
from bot.tracker_store import AftercareTrackerStore
from tests.storage.flag_writer import write_flags

WRITERS = 50
TURNS = 4


def _run_threads(targets: List[Callable[[], None]]) -> List[BaseException]:
    errors: List[BaseException] = []
    start = threading.Barrier(len(targets))

    def wrap(target: Callable[[], None]) -> None:
        start.wait()
        try:
            target()
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=wrap, args=(target,)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_fifty_flag_writers_and_tracker_writers_lose_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    store = AftercareTrackerStore(domain=Domain.load(str(PROJECT_ROOT / "domain.yml")), host=url)

    def flag_writer(index: int) -> Callable[[], None]:
        def write() -> None:
            # Each patient first reports an urgent problem, then an emergency: a read then a write.
            for level in ("urgent", "emergency"):
                with factory.begin() as session:
                    raise_flag(
                        session=session,
                        conversation_id=f"patient-{index}",
                        channel="telegram",
                        level=level,
                        kind="triage",
                        reason="test",
                        rule="test.rule",
                        matched_text="fever",
                        message="I have a fever",
                    )

        return write

    def tracker_writer(index: int) -> Callable[[], None]:
        async def conversation() -> None:
            for turn in range(TURNS):
                tracker = await store.get_or_create_tracker(f"patient-{index}")
                tracker.update(UserUttered(f"message {turn}", {"name": "greet", "confidence": 1.0}))
                tracker.update(BotUttered(f"reply {turn}"))
                tracker.update(ActionExecuted("action_listen"))
                await store.save(tracker)
                assert not store.has_unsaved(f"patient-{index}"), "a tracker write failed"

        return lambda: asyncio.run(conversation())

    targets = [flag_writer(i) for i in range(WRITERS)] + [tracker_writer(i) for i in range(WRITERS)]
    assert _run_threads(targets) == []

    with factory.begin() as session:
        flags = list(session.execute(select(Flag)).scalars())
        assert len(flags) == WRITERS
        assert {flag.level for flag in flags} == {"emergency"}
        assert session.execute(select(func.count()).select_from(AlertOutbox)).scalar_one() > 0
        user_rows = session.execute(
            text("SELECT sender_id, count(*) FROM events WHERE type_name = 'user' GROUP BY sender_id")
        ).all()
    assert len(user_rows) == WRITERS
    assert {count for _, count in user_rows} == {TURNS}
    engine.dispose()


def test_flag_writers_in_separate_processes_lose_nothing(tmp_path):
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    processes, per_process = 5, 10
    context = multiprocessing.get_context("spawn")
    with context.Pool(processes) as pool:
        done = pool.starmap(write_flags, [(url, n * per_process, per_process) for n in range(processes)])
    assert done == [2 * per_process] * processes
    with make_session_factory(engine).begin() as session:
        levels = list(session.execute(select(Flag.level)).scalars())
    assert sorted(levels) == ["emergency"] * (processes * per_process)
    engine.dispose()


def test_every_transaction_takes_the_write_lock_when_it_begins(tmp_path):
    """The transaction of every session begins as a writer: a second writer waits, it does not fail."""
    engine = make_engine(f"sqlite:///{tmp_path / 'a.db'}")
    Base.metadata.create_all(engine)
    with engine.connect() as first:
        first.begin()
        first.execute(text("SELECT 1"))
        # A plain BEGIN would not hold the write lock yet; BEGIN IMMEDIATE does.
        with pytest.raises(OperationalError, match="locked"):
            probe = make_engine(f"sqlite:///{tmp_path / 'a.db'}", connect_args={"timeout": 0})
            with probe.connect() as second:
                second.exec_driver_sql("PRAGMA busy_timeout=0")
                second.begin()
        probe.dispose()
    engine.dispose()


class _Clock:
    def __init__(self) -> None:
        self.sleeps: List[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def _locked() -> OperationalError:
    return OperationalError("INSERT ...", {}, Exception("database is locked"))


def test_run_write_retries_a_locked_database_then_succeeds(session_factory):
    clock = _Clock()
    calls: List[int] = []

    def work(session):
        calls.append(1)
        if len(calls) < 3:
            raise _locked()
        return "done"

    assert run_write(session_factory, work, attempts=4, sleep=clock.sleep) == "done"
    assert len(calls) == 3 and len(clock.sleeps) == 2


def test_run_write_gives_up_after_its_attempts(session_factory):
    clock = _Clock()

    def work(session):
        raise _locked()

    with pytest.raises(OperationalError):
        run_write(session_factory, work, attempts=3, sleep=clock.sleep)
    assert len(clock.sleeps) == 2


def test_run_write_does_not_retry_a_real_error(session_factory):
    clock = _Clock()

    def work(session):
        raise IntegrityError("INSERT ...", {}, Exception("UNIQUE constraint failed"))

    with pytest.raises(IntegrityError):
        run_write(session_factory, work, sleep=clock.sleep)
    assert clock.sleeps == []


def test_run_write_commits_its_work(session_factory):
    def work(session):
        return raise_flag(
            session=session,
            conversation_id="c1",
            channel="rest",
            level="urgent",
            kind="triage",
            reason="r",
            rule="x",
            matched_text="m",
            message="m",
        ).id

    flag_id = run_write(session_factory, work)
    with session_factory.begin() as session:
        assert session.get(Flag, flag_id) is not None


def test_failed_statements_never_show_their_parameters(engine):
    """SQLAlchemy leaves the bound values out of its error (the server's own text is another matter:
    PostgreSQL may quote a failing row, which is why our log lines name only the error class)."""
    secret = "my lips are swelling, call me on +44 7700 900123"
    with pytest.raises(Exception) as caught, engine.begin() as connection:
        connection.execute(text("INSERT INTO no_such_table (message) VALUES (:message)"), {"message": secret})
    assert secret not in str(caught.value)
    assert "hidden" in str(caught.value)
