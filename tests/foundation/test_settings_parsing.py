"""Settings: every variable parsed once into a typed section, nonsense refused with its name."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict

import pytest

from bot.settings import MIN_SECRET_LENGTH, PROJECT_ROOT, Settings, SettingsError

Read = Callable[[Settings], Any]


def test_defaults_without_any_variable() -> None:
    settings = Settings.from_env({})
    assert settings.environment == "development"
    assert settings.database_url == f"sqlite:///{PROJECT_ROOT / 'var' / 'aftercare.db'}"
    assert settings.clinic_file == PROJECT_ROOT / "knowledge" / "clinic.yml"
    assert settings.retention.days == 180
    assert settings.channels.action_timeout == 5.0
    assert settings.alerts.recipients == ()
    assert settings.pinned_secrets == {}


@pytest.mark.parametrize(
    ("env", "read", "expected"),
    [
        ({"AFTERCARE_ENV": "production"}, lambda s: s.environment, "production"),
        ({"AFTERCARE_ENV": " test "}, lambda s: s.environment, "test"),
        ({"AFTERCARE_VAR_DIR": "/srv/v"}, lambda s: s.database_url, "sqlite:////srv/v/aftercare.db"),
        ({"AFTERCARE_KNOWLEDGE_DIR": "/k"}, lambda s: s.clinic_file, Path("/k/clinic.yml")),
        ({"RASA_PORT": "6005"}, lambda s: s.rasa_port, 6005),
        (
            {"AFTERCARE_ALERT_EMAILS": "a@x.org, ,b@x.org"},
            lambda s: s.alerts.recipients,
            ("a@x.org", "b@x.org"),
        ),
        ({"AFTERCARE_SMTP_SSL": "yes"}, lambda s: s.alerts.smtp_ssl, True),
        ({"AFTERCARE_SMTP_PORT": "2525"}, lambda s: s.alerts.smtp_port, 2525),
        ({"AFTERCARE_ALERT_MAX_ATTEMPTS": "3"}, lambda s: s.alerts.max_attempts, 3),
        ({"AFTERCARE_DASHBOARD_HTTPS": "off"}, lambda s: s.dashboard.https, False),
        ({"AFTERCARE_DASHBOARD_SESSION_HOURS": "2"}, lambda s: s.dashboard.session_hours, 2),
        ({"AFTERCARE_TIMEZONE": "Europe/London"}, lambda s: s.dashboard.timezone, "Europe/London"),
        ({"AFTERCARE_REST_ENABLED": "true"}, lambda s: s.channels.rest_enabled, True),
        ({"AFTERCARE_PUBLIC_URL": "https://a.org/"}, lambda s: s.channels.public_url, "https://a.org"),
        (
            {"AFTERCARE_WIDGET_ORIGINS": "https://a.org,https://b.org"},
            lambda s: s.channels.widget_origins,
            ("https://a.org", "https://b.org"),
        ),
        ({"AFTERCARE_ACTION_TIMEOUT": "2.5"}, lambda s: s.channels.action_timeout, 2.5),
        (
            {"AFTERCARE_TELEGRAM_TOKEN": "1:a", "AFTERCARE_SMTP_HOST": "mail"},
            lambda s: dict(s.channels.provider_values),
            {"AFTERCARE_TELEGRAM_TOKEN": "1:a"},
        ),
        ({"AFTERCARE_RETENTION_DAYS": "365"}, lambda s: s.retention.days, 365),
        (
            {"AFTERCARE_CLINIC_PHONE": "+1 555", "AFTERCARE_CLINIC_NAME": " "},
            lambda s: s.clinic.as_fields(),
            {"phone": "+1 555"},
        ),
        (
            {"AFTERCARE_ACTION_SECRET": "s" * 40, "RASA_AUTH_TOKEN": "t"},
            lambda s: dict(s.pinned_secrets),
            {"AFTERCARE_ACTION_SECRET": "s" * 40, "RASA_AUTH_TOKEN": "t"},
        ),
    ],
)
def test_each_variable_lands_in_its_typed_field(env: Dict[str, str], read: Read, expected: Any) -> None:
    assert read(Settings.from_env(env)) == expected


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AFTERCARE_ENV": "staging"}, "AFTERCARE_ENV must be one of development, test, production"),
        ({"AFTERCARE_ENV": "Production"}, "AFTERCARE_ENV must be one of"),
        ({"RASA_PORT": "five"}, "RASA_PORT must be a whole number"),
        ({"AFTERCARE_ALERT_MAX_ATTEMPTS": "0"}, "AFTERCARE_ALERT_MAX_ATTEMPTS must be at least 1"),
        ({"AFTERCARE_DASHBOARD_HTTPS": "maybe"}, "AFTERCARE_DASHBOARD_HTTPS must be true or false"),
        ({"AFTERCARE_ACTION_TIMEOUT": "0"}, "AFTERCARE_ACTION_TIMEOUT must be a positive number"),
        ({"AFTERCARE_ACTION_TIMEOUT": "soon"}, "AFTERCARE_ACTION_TIMEOUT must be a number of seconds"),
        ({"AFTERCARE_RETENTION_DAYS": "-1"}, "AFTERCARE_RETENTION_DAYS must be at least 1"),
    ],
)
def test_nonsense_is_refused_with_the_variable_name(env: Dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env)


def test_an_unknown_environment_cannot_be_built_directly_either() -> None:
    with pytest.raises(SettingsError, match="staging"):
        Settings(environment="staging")  # type: ignore[arg-type]


def test_one_secret_policy_everywhere() -> None:
    from bot import secrets_store
    from bot.channels import security
    from bot.dashboard import config as dashboard_config

    assert MIN_SECRET_LENGTH == 32
    assert secrets_store.MIN_SECRET_LENGTH is security.MIN_SECRET_LENGTH is dashboard_config.MIN_SECRET_LENGTH


def test_the_command_refuses_an_unknown_environment_before_doing_anything(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    from bot.cli import main

    monkeypatch.setenv("AFTERCARE_ENV", "staging")
    monkeypatch.setenv("AFTERCARE_VAR_DIR", str(tmp_path))
    assert main(["db", "current"]) == 2
    assert (
        "AFTERCARE_ENV must be one of development, test, production, not 'staging'" in capsys.readouterr().err
    )
    assert not (tmp_path / "aftercare.db").exists()
