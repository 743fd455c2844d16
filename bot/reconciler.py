"""Owed flags: recorded at escalation time, created by the reconciler if nobody else did.

Why this design (issue 9, "flags can't be lost"):

- The escalation reply is chosen in the Rasa process and goes out without the action
  server; the flag used to be written only by ``action_record_flag``. A dead action server
  or database at that moment lost the flag and its alerts for good.
- Now the safety policy, in the Rasa process and *before* the reply is sent, leaves a
  durable record that a flag is owed (:class:`OwedFlagRecorder`): a row in
  ``aftercare_owed_flags`` (bounded retries with short timeouts, so a locked or dead
  database delays the reply by a few seconds at most), or, when the database does not take
  it, one fsync'ed line in ``var/owed_flags.journal``. A killed process cannot undo either.
- :func:`reconcile_once` (run in a loop by ``aftercare reconcile``, a supervised process)
  imports the journal and settles every row still owed after a grace period, creating the
  flag and its alerts. The action settles the same row when it runs; the conditional claim
  in ``bot.storage.owed_flags`` lets exactly one of them write the flag, and the unique key
  per message makes redeliveries and re-imports no-ops.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Callable, List, Optional, Sequence

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.settings import Settings
from bot.storage import make_engine, make_session_factory, owed_journal, utcnow
from bot.storage.owed_flags import BY_RECONCILER, OwedFlagDetails, record_owed, settle_owed, unsettled

logger = logging.getLogger(__name__)

DEFAULT_GRACE = timedelta(seconds=15)
DEFAULT_INTERVAL_SECONDS = 10.0
# How long the Rasa process may wait on the database per attempt before falling back to the journal.
RECORD_ATTEMPTS = 3
RECORD_BUSY_TIMEOUT_MS = 1000
RECORD_CONNECT_TIMEOUT_S = 2
RECORD_BACKOFF_S = (0.05, 0.2)


def _short_waits(engine: Engine) -> Engine:
    """Make a database that is locked or gone fail within about a second, not five."""
    if engine.dialect.name == "sqlite":

        def _busy(dbapi_connection: object, record: object) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute(f"PRAGMA busy_timeout={RECORD_BUSY_TIMEOUT_MS}")
            cursor.close()

        event.listen(engine, "connect", _busy)
    return engine


def recorder_engine(database_url: str) -> Engine:
    """Return an engine for the Rasa process's owed-flag writes (short timeouts)."""
    options: dict = {}
    if database_url.startswith("postgresql"):
        options["connect_args"] = {"connect_timeout": RECORD_CONNECT_TIMEOUT_S}
    return _short_waits(make_engine(database_url, **options))


class OwedFlagRecorder:
    """Write "a flag is owed for this message" somewhere that survives a crash; never raise."""

    def __init__(
        self,
        factory: Callable[[], sessionmaker],
        journal: Path,
        attempts: int = RECORD_ATTEMPTS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._factory = factory
        self._journal = journal
        self._attempts = attempts
        self._sleep = sleep

    def record(self, details: OwedFlagDetails) -> str:
        """Record the owed flag; return where it went: ``database``, ``journal`` or ``lost``."""
        for attempt in range(self._attempts):
            try:
                with self._factory().begin() as session:
                    record_owed(session=session, details=details)
                return "database"
            except Exception as error:  # noqa: BLE001 - any database failure falls back to the journal
                logger.warning("Owed flag not written to the database (%s).", type(error).__name__)
                if attempt + 1 < self._attempts:
                    self._sleep(RECORD_BACKOFF_S[min(attempt, len(RECORD_BACKOFF_S) - 1)])
        try:
            stamped = dataclasses.replace(details, recorded_at=details.recorded_at or utcnow().isoformat())
            owed_journal.append(self._journal, stamped)
            return "journal"
        except Exception as error:  # noqa: BLE001 - the escalation reply must still go out
            logger.error("Owed flag could not be recorded anywhere (%s).", type(error).__name__)
            return "lost"


@dataclass
class ReconcileReport:
    """What one reconciler round did."""

    imported: int = 0
    settled: List[int] = field(default_factory=list)
    already_settled: int = 0
    failed: int = 0


def _store_journal(factory: sessionmaker) -> Callable[[Sequence[OwedFlagDetails]], None]:
    def store(records: Sequence[OwedFlagDetails]) -> None:
        with factory.begin() as session:
            for details in records:
                record_owed(session=session, details=details)

    return store


def reconcile_once(
    factory: sessionmaker,
    journal: Path,
    *,
    now: Optional[datetime] = None,
    grace: timedelta = DEFAULT_GRACE,
) -> ReconcileReport:
    """Import the journal, then create the flag (and alerts) for every row still owed after ``grace``."""
    report = ReconcileReport()
    report.imported = owed_journal.drain(journal, _store_journal(factory))
    now = now or utcnow()  # after the import, so lines without a time count from their import
    with factory.begin() as session:
        keys = [
            (row.conversation_id, row.turn_key, row.kind)
            for row in unsettled(session=session, created_before=now - grace)
        ]
    for conversation_id, turn_key, kind in keys:
        try:
            with factory.begin() as session:
                settlement = settle_owed(
                    session=session,
                    conversation_id=conversation_id,
                    turn_key=turn_key,
                    kind=kind,
                    by=BY_RECONCILER,
                    now=now,
                )
        except Exception as error:  # noqa: BLE001 - one bad row must not stop the others
            logger.warning("Could not settle an owed flag (%s); will retry.", type(error).__name__)
            report.failed += 1
            continue
        if settlement.wrote_flag and settlement.flag_id is not None:
            report.settled.append(settlement.flag_id)
        else:
            report.already_settled += 1
    return report


def run_forever(
    factory: sessionmaker,
    journal: Path,
    *,
    interval: float = DEFAULT_INTERVAL_SECONDS,
    grace: timedelta = DEFAULT_GRACE,
    stop: Optional[threading.Event] = None,
) -> None:
    """Reconcile every ``interval`` seconds until ``stop`` is set; a failing round is retried."""
    stop = stop or threading.Event()
    while not stop.is_set():
        try:
            report = reconcile_once(factory, journal, grace=grace)
            if report.imported or report.settled or report.failed:
                logger.info(
                    "reconciler: %d imported from the journal, %d flag(s) created, %d failed",
                    report.imported,
                    len(report.settled),
                    report.failed,
                )
        except Exception as error:  # noqa: BLE001 - e.g. the database is still down; try next round
            logger.warning("Reconciler round failed (%s); retrying.", type(error).__name__)
        stop.wait(interval)


def reconciler_factory(settings: Settings) -> sessionmaker:
    """Return the session factory the reconciler writes with."""
    return make_session_factory(make_engine(settings.database_url))


def reconciler_command(settings: Settings) -> List[str]:
    """Return the command that runs the reconciler as a supervised process (for ``make run``)."""
    return [sys.executable, "-m", "bot.cli", "reconcile"]
