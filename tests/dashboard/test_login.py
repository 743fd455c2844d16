"""Logging in: audit rows, generic errors, lockout, sessions that end when the account changes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.storage import audit, staff
from bot.storage.db import utcnow
from bot.storage.models import StaffUser


def audit_rows(session_factory, action_prefix=""):
    with session_factory.begin() as session:
        return [
            (entry.actor, entry.action, entry.detail)
            for entry in reversed(audit.entries(session=session, action=action_prefix or None))
        ]


def error_text(response):
    return response.get_data(as_text=True).split('<p class="flash error" role="status">')[1].split("</p>")[0]


def test_a_successful_login_is_audited_with_the_ip(client, auth, session_factory):
    response = auth.login("nurse")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    with session_factory.begin() as session:
        entry = audit.entries(session=session, action="login")[0]
        assert (entry.actor, entry.action, entry.ip) == ("nurse", "login.success", "127.0.0.1")


def test_unknown_user_and_wrong_password_get_the_same_message(client, auth, session_factory):
    wrong_password = auth.login("nurse", "not the password")
    unknown_user = auth.login("nobody", "not the password")
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert error_text(wrong_password) == error_text(unknown_user)
    assert audit_rows(session_factory, "login") == [
        ("nurse", "login.failure", "bad_password"),
        ("nobody", "login.failure", "unknown_user"),
    ]


def test_five_failures_lock_the_account_even_for_the_right_password(client, auth, session_factory):
    for _ in range(5):
        assert auth.login("nurse", "not the password").status_code == 401
    locked = auth.login("nurse")
    assert locked.status_code == 401
    assert error_text(locked) == error_text(auth.login("nobody", "x" * 12))
    assert audit_rows(session_factory, "login")[-2] == ("nurse", "login.failure", "locked")
    with session_factory.begin() as session:
        nurse = session.execute(select(StaffUser).where(StaffUser.username == "nurse")).scalar_one()
        nurse.locked_until = utcnow() - timedelta(seconds=1)
    assert auth.login("nurse").status_code == 302


def test_the_lockout_threshold_comes_from_the_environment(database_url, session_factory, staff_accounts):
    from bot.dashboard import create_app
    from tests.dashboard.conftest import AuthActions, make_settings

    app = create_app(
        make_settings(database_url, AFTERCARE_LOGIN_MAX_FAILURES="2"), session_factory=session_factory
    )
    auth = AuthActions(app.test_client())
    auth.login("nurse", "not the password")
    auth.login("nurse", "not the password")
    assert auth.login("nurse").status_code == 401


def test_a_disabled_account_is_logged_out_at_its_next_request(client, auth, session_factory):
    auth.login("nurse")
    assert client.get("/").status_code == 200
    with session_factory.begin() as session:
        staff.set_active(
            session=session, user=staff.get_staff(session=session, username="nurse"), active=False
        )
    assert client.get("/").status_code == 302
    assert auth.login("nurse").status_code == 401


def test_a_password_change_ends_existing_sessions(client, auth, session_factory):
    auth.login("nurse")
    with session_factory.begin() as session:
        nurse = staff.get_staff(session=session, username="nurse")
        staff.set_password(session=session, user=nurse, password="a brand new password")
    assert client.get("/").status_code == 302


def test_logout_is_audited(client, auth, session_factory):
    auth.login("nurse")
    auth.logout()
    assert audit_rows(session_factory)[-1][:2] == ("nurse", "logout")
