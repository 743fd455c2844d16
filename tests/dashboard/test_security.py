"""Security headers, cookie flags, and the session key: pinned, or generated per install, never a default."""

from __future__ import annotations

import stat

import pytest

from bot.dashboard import create_app
from bot.dashboard.config import InsecureSecretKeyError
from bot.secrets_store import rotate_secret
from bot.settings import Settings
from tests.dashboard.conftest import AuthActions, make_settings


def test_pages_send_security_headers(client):
    response = client.get("/login")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in policy and "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy and "script-src" not in policy


def test_static_files_may_be_cached_and_are_public(client):
    response = client.get("/static/style.css")
    assert response.status_code == 200
    assert response.headers.get("Cache-Control") != "no-store"


def session_cookie(response):
    cookies = [
        value for value in response.headers.getlist("Set-Cookie") if value.startswith("aftercare_session=")
    ]
    assert cookies
    return cookies[-1]


def test_the_session_cookie_is_httponly_and_samesite_lax_but_not_secure_over_http(client, auth):
    cookie = session_cookie(auth.login("nurse"))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_the_session_cookie_is_secure_over_https(client, auth):
    token = auth.csrf()
    response = client.post(
        "/login",
        base_url="https://localhost",
        data={"username": "nurse", "password": "nurse-password-1", "csrf_token": token},
    )
    assert "Secure" in session_cookie(response)


def test_the_session_cookie_is_secure_when_configured(database_url, session_factory, staff_accounts):
    from tests.dashboard.conftest import AuthActions

    app = create_app(
        make_settings(database_url, AFTERCARE_DASHBOARD_HTTPS="1"), session_factory=session_factory
    )
    response = AuthActions(app.test_client()).login("nurse")
    assert "Secure" in session_cookie(response)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


@pytest.mark.parametrize("environment", ["development", "production"])
def test_a_short_pinned_secret_is_refused_in_every_mode(environment, session_factory, tmp_path):
    settings = Settings(
        environment=environment, secret_key="short-secret", database_url="sqlite://", var_dir=tmp_path
    )
    with pytest.raises(InsecureSecretKeyError, match="AFTERCARE_SECRET_KEY"):
        create_app(settings, session_factory=session_factory)


def test_a_strong_pinned_secret_is_used_and_nothing_is_generated(session_factory, tmp_path):
    settings = Settings(
        environment="production", secret_key="s" * 48, database_url="sqlite://", var_dir=tmp_path
    )
    assert create_app(settings, session_factory=session_factory).secret_key == "s" * 48
    assert not (tmp_path / "secrets" / "dashboard_session_key").exists()


@pytest.mark.parametrize("environment", ["development", "production"])
def test_without_a_pinned_secret_each_install_generates_its_own(environment, session_factory, tmp_path):
    keys = []
    for install in ("first", "second"):
        var_dir = tmp_path / install
        app = create_app(
            Settings(environment=environment, database_url="sqlite://", var_dir=var_dir),
            session_factory=session_factory,
        )
        key_file = var_dir / "secrets" / "dashboard_session_key"
        assert app.secret_key == key_file.read_text() and len(app.secret_key) >= 32
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert stat.S_IMODE((var_dir / "secrets").stat().st_mode) == 0o700
        keys.append(app.secret_key)
    assert keys[0] != keys[1]


def test_rotating_the_generated_key_ends_every_session(
    database_url, session_factory, staff_accounts, tmp_path
):
    settings = Settings(environment="test", database_url=database_url, var_dir=tmp_path)
    client = create_app(settings, session_factory=session_factory).test_client()
    AuthActions(client).login("nurse")
    assert client.get("/").status_code == 200
    rotate_secret("dashboard_session_key", var_dir=tmp_path)
    response = client.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
