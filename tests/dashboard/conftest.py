"""Dashboard test fixtures: an app on a fresh database (SQLite and PostgreSQL), staff, an auth helper."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timezone
from typing import Dict, Iterator, Optional

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.dashboard import create_app
from bot.settings import Settings
from bot.storage import make_engine, make_session_factory, staff
from bot.storage.flags import raise_flag
from bot.storage.models import Base, Flag

SECRET = "test-secret-key-that-is-long-enough-0123456789"
PASSWORDS = {"nurse": "nurse-password-1", "boss": "boss-password-1"}
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker:
    return make_session_factory(engine)


def make_settings(database_url: str, **extra: str) -> Settings:
    env = {"AFTERCARE_DASHBOARD_URL": "https://dashboard.example", **extra}
    return replace(Settings.from_env(env), database_url=database_url, environment="test", secret_key=SECRET)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker) -> Flask:
    app = create_app(settings, session_factory=session_factory)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def staff_accounts(session_factory: sessionmaker) -> Dict[str, str]:
    with session_factory.begin() as session:
        staff.create_staff(session=session, username="nurse", password=PASSWORDS["nurse"], role="reviewer")
        staff.create_staff(session=session, username="boss", password=PASSWORDS["boss"], role="admin")
    return PASSWORDS


@pytest.fixture
def client(app: Flask, staff_accounts: Dict[str, str]) -> FlaskClient:
    return app.test_client()


class AuthActions:
    """Log in and out, and post forms with this session's CSRF token (flaskr style)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def csrf(self, path: str = "/login") -> str:
        match = _CSRF.search(self.client.get(path).get_data(as_text=True))
        assert match, f"no CSRF field on {path}"
        return match.group(1)

    def login(self, username: str = "nurse", password: Optional[str] = None):  # type: ignore[no-untyped-def]
        token = self.csrf("/login")
        return self.client.post(
            "/login",
            data={"username": username, "password": password or PASSWORDS[username], "csrf_token": token},
        )

    def logout(self):  # type: ignore[no-untyped-def]
        return self.post("/logout")

    def post(self, path: str, data: Optional[Dict[str, str]] = None, **kwargs):  # type: ignore[no-untyped-def]
        with self.client.session_transaction() as session:
            token = session.get("csrf_token", "")
        return self.client.post(path, data={**(data or {}), "csrf_token": token}, **kwargs)


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


def add_flag(
    session_factory: sessionmaker,
    conversation_id: str = "conv-1",
    level: str = "urgent",
    *,
    channel: str = "telegram",
    channel_user_id: Optional[str] = "12345678",
    message: str = "I have a fever of 39",
    now: datetime = T0,
    kind: Optional[str] = None,
) -> int:
    kind = kind or ("triage" if level in ("emergency", "urgent", "routine") else level)
    with session_factory.begin() as session:
        flag: Flag = raise_flag(
            session=session,
            conversation_id=conversation_id,
            channel=channel,
            channel_user_id=channel_user_id,
            level=level,
            kind=kind,
            reason=f"{level} symptoms",
            rule=f"rule_{level}",
            matched_text="fever",
            message=message,
            now=now,
        )
        return int(flag.id)
