"""Launch settings: the action timeout, the runtime endpoints file with its secret, private files."""

import dataclasses
import os

import pytest
import yaml

from bot.cli.run import build_services, runtime_endpoints
from bot.launch.action_server import SECRET_HEADER
from bot.launch.rasa_server import DEFAULT_ACTION_TIMEOUT, action_timeout, apply_action_timeout
from bot.runtime_files import private_database, private_var_dir
from bot.secrets_store import load_secret
from bot.settings import Settings


def test_action_timeout_defaults_to_a_few_seconds_and_is_configurable():
    assert action_timeout(Settings.from_env({})) == DEFAULT_ACTION_TIMEOUT == 5.0
    assert action_timeout(Settings.from_env({"AFTERCARE_ACTION_TIMEOUT": "2.5"})) == 2.5
    with pytest.raises(ValueError):
        action_timeout(Settings.from_env({"AFTERCARE_ACTION_TIMEOUT": "0"}))


def test_apply_action_timeout_replaces_the_constant_rasa_remote_actions_read():
    import rasa.core.actions.action as remote_action

    before = remote_action.DEFAULT_REQUEST_TIMEOUT
    try:
        apply_action_timeout(3.0)
        assert remote_action.DEFAULT_REQUEST_TIMEOUT == 3.0
    finally:
        remote_action.DEFAULT_REQUEST_TIMEOUT = before


def _settings(tmp_path, **env):
    var_dir = tmp_path / "var"
    return dataclasses.replace(
        Settings.from_env({"AFTERCARE_VAR_DIR": str(var_dir), **env}), var_dir=var_dir, action_port=5999
    )


def test_runtime_endpoints_carry_the_shared_secret_and_are_private(tmp_path):
    settings = _settings(tmp_path)
    path = runtime_endpoints(settings)
    endpoint = yaml.safe_load(path.read_text())["action_endpoint"]
    assert endpoint["url"] == "http://127.0.0.1:5999/webhook"
    assert endpoint["headers"][SECRET_HEADER] == load_secret("action_server_secret", var_dir=settings.var_dir)
    assert path.stat().st_mode & 0o777 == 0o600
    assert settings.var_dir.stat().st_mode & 0o777 == 0o700


def test_a_configured_action_secret_is_used(tmp_path):
    secret = "s" * 40
    settings = _settings(tmp_path, AFTERCARE_ACTION_SECRET=secret)
    endpoint = yaml.safe_load(runtime_endpoints(settings).read_text())["action_endpoint"]
    assert endpoint["headers"][SECRET_HEADER] == secret


def test_the_token_reaches_rasa_through_its_environment_only(tmp_path):
    settings = _settings(tmp_path)
    services = build_services(settings, tmp_path / "model.tar.gz", "secret-token-value", with_dashboard=False)
    rasa = next(s for s in services if s.name == "rasa")
    assert all("secret-token-value" not in part for s in services for part in s.command)
    assert rasa.env["RASA_AUTH_TOKEN"] == "secret-token-value"


def test_the_sqlite_database_is_created_private_and_loose_files_are_tightened(tmp_path):
    var_dir = private_var_dir(tmp_path / "var")
    database = var_dir / "aftercare.db"
    assert private_database(f"sqlite:///{database}") == database
    assert database.stat().st_mode & 0o777 == 0o600
    os.chmod(database, 0o644)
    wal = var_dir / "aftercare.db-wal"
    wal.write_text("")
    os.chmod(wal, 0o644)
    private_database(f"sqlite:///{database}")
    assert database.stat().st_mode & 0o777 == 0o600 and wal.stat().st_mode & 0o777 == 0o600
    assert private_database("postgresql://u:p@localhost/x") is None
    assert private_database("sqlite://") is None
