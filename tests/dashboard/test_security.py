"""Security headers, cookie flags, and the secret key check."""

from __future__ import annotations

import pytest

from bot.dashboard import create_app
from bot.dashboard.config import InsecureSecretKeyError
from bot.settings import DEFAULT_SECRET, Settings
from tests.dashboard.conftest import make_settings


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


@pytest.mark.parametrize("secret", [DEFAULT_SECRET, "short-secret"])
def test_outside_development_a_weak_secret_is_refused(secret, session_factory):
    settings = Settings(environment="production", secret_key=secret, database_url="sqlite://")
    with pytest.raises(InsecureSecretKeyError, match="AFTERCARE_SECRET_KEY"):
        create_app(settings, session_factory=session_factory)


def test_development_may_use_the_default_secret(session_factory):
    app = create_app(
        Settings(environment="development", database_url="sqlite://"), session_factory=session_factory
    )
    assert app.secret_key == DEFAULT_SECRET


def test_production_with_a_strong_secret_starts(session_factory):
    settings = Settings(environment="production", secret_key="s" * 48, database_url="sqlite://")
    assert create_app(settings, session_factory=session_factory).secret_key == "s" * 48
