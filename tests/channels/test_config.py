"""Which channels `aftercare run` turns on, and the credentials file Rasa reads."""

from __future__ import annotations

import pytest
import yaml

from bot.channels.config import (
    channel_statuses,
    credentials_for,
    describe_channels,
    enabled_channels,
    providers,
    runtime_credentials,
)
from bot.settings import Settings

WHATSAPP = {
    "AFTERCARE_WHATSAPP_VERIFY_TOKEN": "vt",
    "AFTERCARE_WHATSAPP_APP_SECRET": "app",
    "AFTERCARE_WHATSAPP_ACCESS_TOKEN": "token",
    "AFTERCARE_WHATSAPP_PHONE_NUMBER_ID": "1065",
}
TELEGRAM = {"AFTERCARE_TELEGRAM_TOKEN": "123:abc", "AFTERCARE_TELEGRAM_SECRET_TOKEN": "tg-secret"}
TWILIO = {
    "AFTERCARE_TWILIO_ACCOUNT_SID": "AC1",
    "AFTERCARE_TWILIO_AUTH_TOKEN": "tw",
    "AFTERCARE_TWILIO_NUMBER": "+15005550006",
}


def _settings(tmp_path, **env: str) -> Settings:
    return Settings.from_env({"AFTERCARE_VAR_DIR": str(tmp_path), **env})


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ["rest", "widget"]),
        (WHATSAPP, ["rest", "widget", "whatsapp"]),
        (TELEGRAM, ["rest", "widget", "telegram"]),
        (TWILIO, ["rest", "widget", "twilio"]),
        ({**WHATSAPP, **TELEGRAM, **TWILIO}, ["rest", "widget", "whatsapp", "telegram", "twilio"]),
        ({**TELEGRAM, "AFTERCARE_TELEGRAM_SECRET_TOKEN": ""}, ["rest", "widget"]),
        ({k: v for k, v in WHATSAPP.items() if "APP_SECRET" not in k}, ["rest", "widget"]),
        ({"AFTERCARE_ENV": "production"}, []),
        ({"AFTERCARE_ENV": "production", "AFTERCARE_REST_ENABLED": "true"}, ["rest"]),
        ({"AFTERCARE_ENV": "production", "AFTERCARE_WIDGET_SECRET": "w" * 32}, ["widget"]),
        ({"AFTERCARE_WIDGET_SECRET": "short"}, ["rest"]),
    ],
)
def test_enabled_channels(tmp_path, env, expected):
    assert enabled_channels(_settings(tmp_path, **env)) == expected


def test_a_half_configured_channel_says_what_is_missing(tmp_path):
    statuses = {s.name: s for s in channel_statuses(_settings(tmp_path, AFTERCARE_TELEGRAM_TOKEN="1:a"))}
    assert not statuses["telegram"].enabled
    assert statuses["telegram"].missing == ("AFTERCARE_TELEGRAM_SECRET_TOKEN",)
    lines = describe_channels(_settings(tmp_path, AFTERCARE_TELEGRAM_TOKEN="1:a"))
    assert any(
        line.startswith("telegram: off") and "AFTERCARE_TELEGRAM_SECRET_TOKEN" in line for line in lines
    )


def test_description_uses_the_public_url(tmp_path):
    lines = describe_channels(
        _settings(tmp_path, AFTERCARE_PUBLIC_URL="https://chat.example.org/", **WHATSAPP)
    )
    assert "whatsapp: on   https://chat.example.org/webhooks/whatsapp/webhook" in lines


def test_credentials_keep_secrets_in_the_environment(tmp_path):
    names = [*WHATSAPP, *TELEGRAM, *TWILIO, "AFTERCARE_WIDGET_SECRET"]
    env = {name: f"value-of-{name.lower()}-7f3a9c" for name in names}
    written = yaml.safe_dump(credentials_for(_settings(tmp_path, **env)))
    for name, value in env.items():
        assert value not in written, name
        assert f"${{{name}}}" in written


def test_optional_settings_are_written_as_values(tmp_path):
    env = {**WHATSAPP, "AFTERCARE_WHATSAPP_API_BASE": "http://127.0.0.1:9/graph", **TWILIO}
    credentials = credentials_for(_settings(tmp_path, AFTERCARE_PUBLIC_URL="https://chat.example.org", **env))
    assert credentials["bot.channels.whatsapp.WhatsAppInput"]["api_base"] == "http://127.0.0.1:9/graph"
    assert credentials["bot.channels.twilio_sms.TwilioInput"]["public_url"] == "https://chat.example.org"
    assert credentials["bot.channels.twilio_sms.TwilioInput"]["api_base"] == "https://api.twilio.com"


def test_widget_origins(tmp_path):
    credentials = credentials_for(
        _settings(tmp_path, AFTERCARE_WIDGET_ORIGINS="https://a.org, https://b.org")
    )
    assert credentials["bot.channels.widget.WidgetInput"] == {
        "allowed_origins": ["https://a.org", "https://b.org"]
    }


def test_runtime_file_is_read_by_rasa_with_the_variables_set(tmp_path, monkeypatch):
    from rasa.core.run import create_http_input_channels

    env = {**TELEGRAM, **TWILIO}
    path = runtime_credentials(_settings(tmp_path, **env))
    assert path == tmp_path / "credentials.yml"
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AFTERCARE_VAR_DIR", str(tmp_path))
    channels = {channel.name(): channel for channel in create_http_input_channels(None, str(path))}
    assert set(channels) == {"rest", "widget", "telegram", "twilio"}
    assert channels["telegram"].config["secret_token"] == "tg-secret"
    assert channels["twilio"].config["auth_token"] == "tw"


def test_the_rest_webhook_is_ours_and_off_in_production(tmp_path):
    assert "rest" not in credentials_for(_settings(tmp_path))
    assert "bot.channels.rest.TokenRestInput" in credentials_for(_settings(tmp_path))
    production = _settings(tmp_path, AFTERCARE_ENV="production", AFTERCARE_WIDGET_SECRET="w" * 32)
    assert "bot.channels.rest.TokenRestInput" not in credentials_for(production)
    lines = describe_channels(production)
    assert any(line.startswith("rest: off") and "AFTERCARE_REST_ENABLED=true" in line for line in lines)


def test_the_registry_comes_from_the_connector_classes():
    from bot.channels.config import connectors

    assert (
        [p.name for p in providers()]
        == [c.CHANNEL for c in connectors()]
        == ["whatsapp", "telegram", "twilio"]
    )
    for provider, connector in zip(providers(), connectors(), strict=True):
        assert provider.required == connector.REQUIRED
        assert provider.class_path == connector.class_path()


def test_every_provider_names_its_class_and_variables():
    for provider in providers():
        module, _, cls = provider.class_path.rpartition(".")
        assert getattr(__import__(module, fromlist=[cls]), cls).name() == provider.name
        assert all(variable.startswith("AFTERCARE_") for variable in provider.required.values())


def test_the_shipped_credentials_file_starts_rest_and_the_widget(tmp_path, monkeypatch):
    from rasa.core.run import create_http_input_channels

    from bot.settings import PROJECT_ROOT

    monkeypatch.setenv("AFTERCARE_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("AFTERCARE_ENV", raising=False)
    channels = create_http_input_channels(None, str(PROJECT_ROOT / "credentials.yml"))
    assert [channel.name() for channel in channels] == ["rest", "widget"]
