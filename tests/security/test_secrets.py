"""Keys: from the environment or generated once per install (0600), listed without values, rotated."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Dict

import pytest

from bot.secrets_store import SECRET_VARIABLES, SecretError, load_secret, rotate_secret, secret_names
from bot.settings import PROJECT_ROOT
from bot.storage import audit, make_engine, make_session_factory


@pytest.mark.parametrize("name", secret_names())
def test_each_key_is_generated_once_per_install_privately(tmp_path, name):
    first = load_secret(name, var_dir=tmp_path / "one")
    assert load_secret(name, var_dir=tmp_path / "one") == first
    assert load_secret(name, var_dir=tmp_path / "two") != first
    path = tmp_path / "one" / "secrets" / name
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_the_environment_pins_a_key_and_a_short_one_is_refused(tmp_path):
    variable = SECRET_VARIABLES["dashboard_session_key"]
    assert load_secret("dashboard_session_key", var_dir=tmp_path, env={variable: "k" * 40}) == "k" * 40
    assert not (tmp_path / "secrets" / "dashboard_session_key").exists()
    with pytest.raises(SecretError, match=variable):
        load_secret("dashboard_session_key", var_dir=tmp_path, env={variable: "change-me"})


def test_rotating_replaces_the_value(tmp_path):
    old = load_secret("widget_session_secret", var_dir=tmp_path)
    new = rotate_secret("widget_session_secret", var_dir=tmp_path)
    assert new != old and load_secret("widget_session_secret", var_dir=tmp_path) == new


def aftercare(tmp_path: Path, *args: str, **extra: str) -> subprocess.CompletedProcess:
    env: Dict[str, str] = {
        **{name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES.values()},
        "AFTERCARE_VAR_DIR": str(tmp_path),
        "AFTERCARE_DATABASE_URL": f"sqlite:///{tmp_path / 'aftercare.db'}",
        "PYTHONPATH": str(PROJECT_ROOT),
        **extra,
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", "secrets", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_cli_lists_sources_never_values_and_rotates_with_an_audit_entry(tmp_path):
    old = load_secret("dashboard_session_key", var_dir=tmp_path)
    listing = aftercare(tmp_path, "list", AFTERCARE_WIDGET_SECRET="w" * 40)
    assert listing.returncode == 0, listing.stderr
    lines = {line.split()[0]: line for line in listing.stdout.splitlines()[1:-1]}
    assert "generated" in lines["dashboard_session_key"]
    assert "environment" in lines["widget_session_secret"]
    assert "not yet generated" in lines["action_server_secret"]
    assert old not in listing.stdout and "w" * 40 not in listing.stdout

    rotated = aftercare(tmp_path, "rotate", "dashboard_session_key")
    assert rotated.returncode == 0, rotated.stderr
    assert load_secret("dashboard_session_key", var_dir=tmp_path) != old
    engine = make_engine(f"sqlite:///{tmp_path / 'aftercare.db'}")
    with make_session_factory(engine).begin() as session:
        (entry,) = audit.entries(session=session, action="secret.")
        assert (entry.action, entry.target) == ("secret.rotate", "secret:dashboard_session_key")
    engine.dispose()


def test_the_cli_refuses_to_rotate_a_key_pinned_in_the_environment(tmp_path):
    result = aftercare(tmp_path, "rotate", "rasa_auth_token", RASA_AUTH_TOKEN="t" * 40)
    assert result.returncode == 1
    assert "RASA_AUTH_TOKEN" in result.stderr
    assert not (tmp_path / "secrets" / "rasa_auth_token").exists()
