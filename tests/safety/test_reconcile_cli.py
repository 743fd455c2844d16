"""``aftercare reconcile``: the command the supervisor runs, and its ``--once`` round."""

from __future__ import annotations

import os
import subprocess

from bot.cli import build_parser
from bot.reconciler import reconciler_command
from bot.settings import PROJECT_ROOT, Settings
from bot.storage.owed_flags import OwedFlagDetails
from bot.storage.owed_journal import append, journal_path
from tests.safety.conftest import count_flags_and_alerts


def test_the_supervised_command_runs_the_reconcile_subcommand():
    command = reconciler_command(Settings.from_env({}))
    assert command[1:] == ["-m", "bot.cli", "reconcile"]
    assert build_parser().parse_args(["reconcile", "--once"]).once is True


def test_reconcile_once_imports_the_journal_and_creates_the_flag(session_factory, tmp_path):
    details = OwedFlagDetails(
        "p-9", "id:x", "triage", "rest", "emergency", "emergency: lips", "r", "lips", "t"
    )
    append(journal_path(tmp_path / "var"), details)
    env = {
        **os.environ,
        "PYTHONPATH": str(PROJECT_ROOT),
        "AFTERCARE_VAR_DIR": str(tmp_path / "var"),
        "AFTERCARE_DATABASE_URL": f"sqlite:///{tmp_path / 'aftercare.db'}",
    }
    command = [*reconciler_command(Settings.from_env(env)), "--once", "--grace", "0"]
    result = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "imported 1 from the journal, created 1 flag(s)" in result.stdout
    assert count_flags_and_alerts(session_factory) == (1, 2)
