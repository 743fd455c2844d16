"""Run Rasa's own conversation tests (tests/test_conversations.yml) against the trained model."""

import subprocess

import pytest

from bot.training import QUIET_ENV, rasa_executable

pytestmark = pytest.mark.slow


def test_conversation_stories_pass(trained_model, project_root, tmp_path):
    import os

    result = subprocess.run(
        [
            rasa_executable(),
            "test",
            "core",
            "--model",
            str(trained_model),
            "--stories",
            str(project_root / "tests" / "test_conversations.yml"),
            "--out",
            str(tmp_path),
            "--fail-on-prediction-errors",
        ],
        cwd=project_root,
        capture_output=True,
        text=True,
        timeout=900,
        # Escalations in the stories record owed flags: keep them out of the developer's var/.
        env={
            **os.environ,
            **QUIET_ENV,
            "AFTERCARE_VAR_DIR": str(tmp_path / "var"),
            "AFTERCARE_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'aftercare.db'}",
        },
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, details + result.stdout[-4000:] + result.stderr[-4000:]
