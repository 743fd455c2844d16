"""The fault injectors really inject (and undo) their faults, checked on a plain SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.chaos import faults
from tests.chaos.report import Row, allowed_downtime, format_table

pytestmark = pytest.mark.chaos


@pytest.fixture
def database(tmp_path: Path) -> Path:
    path = tmp_path / "aftercare.db"
    with sqlite3.connect(str(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute(
            "CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, type_name TEXT, data TEXT)"
        )
        connection.executemany(
            "INSERT INTO events (sender_id, type_name, data) VALUES (?, ?, ?)",
            [("p1", "user", '{"text": "hi"}'), ("p1", "bot", '{"text": "hello"}'), ("p2", "bot", "{}")],
        )
    return path


def _write(path: Path) -> None:
    with sqlite3.connect(str(path), timeout=0.2) as connection:
        connection.execute("INSERT INTO events (sender_id, type_name, data) VALUES ('p3', 'user', '{}')")


def _count(path: Path) -> int:
    with sqlite3.connect(str(path), timeout=0.2) as connection:
        return int(connection.execute("SELECT count(*) FROM events").fetchone()[0])


def test_write_lock_lets_readers_read_and_fails_writers(database: Path) -> None:
    with faults.write_locked(database):
        assert _count(database) == 3
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            _write(database)
    _write(database)
    assert _count(database) == 4


def test_unavailable_database_fails_new_connections_and_comes_back_intact(database: Path) -> None:
    with faults.unavailable(database), pytest.raises(sqlite3.DatabaseError):
        _count(database)
    assert _count(database) == 3
    assert not list(database.parent.glob(f"*{faults.AWAY}"))


def test_corrupting_an_event_breaks_only_that_row(database: Path) -> None:
    event_id = faults.corrupt_latest_event(database, ["p1", "whatsapp:p1"])
    with sqlite3.connect(str(database)) as connection:
        rows = dict(connection.execute("SELECT id, data FROM events").fetchall())
    assert event_id == 2
    with pytest.raises(ValueError):
        __import__("json").loads(rows[2])
    assert rows[1] == '{"text": "hi"}' and rows[3] == "{}"
    assert faults.corrupt_latest_event(database, ["nobody"]) is None


def test_a_row_fails_on_any_loss_duplicate_or_long_outage() -> None:
    assert Row("ok", messages_sent=3).passed
    assert not Row("lost", lost=1).passed
    assert not Row("twice", duplicates=1).passed
    assert not Row("down", downtime=allowed_downtime() + 1, downtime_server="rasa").passed
    assert not Row("never back", downtime=float("inf"), downtime_server="rasa").passed
    assert allowed_downtime() >= 60
    table = format_table([Row("a|b", escalations_expected=2, escalations_delivered=1, notes=["x"])])
    assert "| a/b | 0 | 1/2 | 0/0 | 0 | 0 | 0 s | x |" in table
