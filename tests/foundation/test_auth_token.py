"""The Rasa API token: environment first, then .env, else generated once and reused."""

import stat

from bot.auth_token import read_dotenv, resolve_token


def test_environment_token_wins(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("RASA_AUTH_TOKEN=from-file\n")
    token = resolve_token("from-env", dotenv)
    assert (token.value, token.origin) == ("from-env", "environment")


def test_generates_once_then_reuses(tmp_path):
    dotenv = tmp_path / ".env"
    first = resolve_token(None, dotenv)
    second = resolve_token(None, dotenv)
    assert first.origin == "generated" and second.origin == "dotenv"
    assert first.value == second.value and len(first.value) >= 32
    assert stat.S_IMODE(dotenv.stat().st_mode) == 0o600


def test_keeps_other_lines_of_an_existing_env_file(tmp_path):
    dotenv = tmp_path / ".env"
    dotenv.write_text("# clinic settings\nAFTERCARE_CLINIC_NAME='Smart Skin'")
    token = resolve_token(None, dotenv)
    values = read_dotenv(dotenv)
    assert values == {"AFTERCARE_CLINIC_NAME": "Smart Skin", "RASA_AUTH_TOKEN": token.value}
