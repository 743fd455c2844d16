"""The ``aftercare db``, ``staff`` and ``purge`` commands against a real SQLite file."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import text

from bot.cli import main
from bot.storage import audit, make_engine, make_session_factory, migrate, staff
from bot.storage.db import utcnow
from bot.storage.flags import raise_flag
from tests.storage.rasa_events import add_event, create_rasa_events_table, user


@pytest.fixture
def database_file(tmp_path, monkeypatch):
    path = tmp_path / "var" / "aftercare.db"
    monkeypatch.setenv("AFTERCARE_DATABASE_URL", f"sqlite:///{path}")
    monkeypatch.delenv("AFTERCARE_RETENTION_DAYS", raising=False)
    return path


@pytest.fixture
def factory(database_file):
    engine = make_engine(f"sqlite:///{database_file}")
    yield make_session_factory(engine)
    engine.dispose()


def stdin(monkeypatch, text_):
    monkeypatch.setattr("sys.stdin", io.StringIO(text_))


def test_db_upgrade_creates_the_schema_and_can_be_repeated(database_file, capsys):
    assert main(["db", "current"]) == 1
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "upgrade"]) == 0
    assert main(["db", "current"]) == 0
    assert database_file.exists()
    assert f"current: {migrate.head_revision()}" in capsys.readouterr().out


def test_staff_accounts_are_managed_from_the_terminal(database_file, factory, monkeypatch, capsys):
    stdin(monkeypatch, "a-long-password\n")
    assert main(["staff", "add", "Alice", "--role", "admin", "--password-stdin"]) == 0
    prompts = iter(["nurse-password-1", "nurse-password-1"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(prompts))
    assert main(["staff", "add", "nurse", "--role", "reviewer"]) == 0
    assert main(["staff", "disable", "nurse"]) == 0
    assert main(["staff", "list"]) == 0
    listing = capsys.readouterr().out
    assert "alice                    admin     active" in listing
    assert "nurse                    reviewer  disabled" in listing
    assert main(["staff", "enable", "nurse"]) == 0
    stdin(monkeypatch, "a-newer-password\n")
    assert main(["staff", "set-password", "nurse", "--password-stdin"]) == 0
    with factory.begin() as session:
        result = staff.authenticate(session=session, username="nurse", password="a-newer-password")
        assert result.ok
        actions = [
            (entry.action, entry.target) for entry in reversed(audit.entries(session=session, action="staff"))
        ]
        assert all(entry.actor.startswith("cli:") for entry in audit.entries(session=session, action="staff"))
    assert actions == [
        ("staff.add", "staff:alice"),
        ("staff.add", "staff:nurse"),
        ("staff.disable", "staff:nurse"),
        ("staff.enable", "staff:nurse"),
        ("staff.set_password", "staff:nurse"),
    ]


def test_staff_errors_exit_non_zero(database_file, monkeypatch, capsys):
    prompts = iter(["first-password-1", "other-password-2"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(prompts))
    assert main(["staff", "add", "bob", "--role", "admin"]) == 1
    stdin(monkeypatch, "short\n")
    assert main(["staff", "add", "bob", "--role", "admin", "--password-stdin"]) == 1
    assert main(["staff", "disable", "nobody"]) == 1
    errors = capsys.readouterr().err
    assert "not the same" in errors and "at least 10 characters" in errors and "no account named" in errors


def test_the_password_is_not_a_command_line_option():
    with pytest.raises(SystemExit):
        main(["staff", "add", "bob", "--role", "admin", "--password", "secret-password"])


def old_data(factory, database_file):
    main(["db", "upgrade"])
    long_ago = utcnow() - timedelta(days=200)
    with factory.begin() as session:
        raise_flag(
            session=session,
            conversation_id="old",
            channel="rest",
            level="urgent",
            kind="triage",
            reason="r",
            rule="r",
            matched_text="m",
            message="m",
            now=long_ago,
        )
    engine = make_engine(f"sqlite:///{database_file}")
    create_rasa_events_table(engine)
    add_event(engine, "old", user("hello", "greet", long_ago.timestamp()))
    add_event(engine, "new", user("hello", "greet", utcnow().timestamp()))
    engine.dispose()


def test_purge_dry_run_only_counts(database_file, factory, capsys):
    old_data(factory, database_file)
    assert main(["purge", "--dry-run"]) == 0
    assert "would delete: 1 flags, 2 alerts, 1 tracker events from 1 conversations" in capsys.readouterr().out
    with factory.begin() as session:
        assert session.execute(text("SELECT COUNT(*) FROM aftercare_flags")).scalar_one() == 1
        assert audit.entries(session=session, action="retention") == []


def test_purge_deletes_and_is_audited(database_file, factory, capsys):
    old_data(factory, database_file)
    assert main(["purge", "--older-than", "26w"]) == 0
    assert "deleted: 1 flags, 2 alerts, 1 tracker events from 1 conversations" in capsys.readouterr().out
    with factory.begin() as session:
        assert session.execute(text("SELECT COUNT(*) FROM aftercare_flags")).scalar_one() == 0
        assert session.execute(text("SELECT sender_id FROM events")).scalars().all() == ["new"]
        [entry] = audit.entries(session=session, action="retention.purge")
        assert entry.actor.startswith("cli:")
        assert "flags=1 alerts=2 events=1 conversations=1" in entry.detail


def test_purge_takes_its_default_from_the_environment(database_file, factory, monkeypatch, capsys):
    old_data(factory, database_file)
    monkeypatch.setenv("AFTERCARE_RETENTION_DAYS", "365")
    assert main(["purge"]) == 0
    assert "deleted: 0 flags" in capsys.readouterr().out


def test_purge_refuses_a_nonsense_period(database_file, capsys):
    assert main(["purge", "--older-than", "0d"]) == 2
    assert "at least one day" in capsys.readouterr().err
