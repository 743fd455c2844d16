"""Logging in: audit rows, generic errors, throttling, server-side sessions that really end."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from bot.dashboard import create_app
from bot.storage import audit, staff
from bot.storage.db import utcnow
from bot.storage.security_models import StaffSession
from tests.dashboard.conftest import AuthActions, make_settings


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


def login_from(app, address, username="nurse", password=None):
    """Log in through the app as a browser at ``address`` would (its own cookie jar)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client, AuthActions(client).login(username, password)


def test_ten_failures_from_one_address_do_not_stop_the_right_password_from_another(
    database_url, session_factory, staff_accounts
):
    app = create_app(
        make_settings(database_url, AFTERCARE_LOGIN_DELAY_SECONDS="600"), session_factory=session_factory
    )
    attacker = app.test_client()
    attacker.environ_base["REMOTE_ADDR"] = "10.9.9.9"
    for _ in range(10):
        assert AuthActions(attacker).login("nurse", "not the password").status_code == 401
    # The attacker's address is held back, even with the right password...
    assert AuthActions(attacker).login("nurse").status_code == 401
    # ...but the nurse at her own address logs straight in.
    _, response = login_from(app, "10.0.0.5")
    assert response.status_code == 302
    reasons = [detail for actor, action, detail in audit_rows(session_factory, "login.failure")]
    assert reasons[:3] == ["bad_password"] * 3 and set(reasons[3:]) == {"throttled"}


def test_a_throttled_attempt_looks_like_any_other_failure(client, auth, database_url, session_factory):
    app = create_app(
        make_settings(database_url, AFTERCARE_LOGIN_FREE_FAILURES="1", AFTERCARE_LOGIN_DELAY_SECONDS="600"),
        session_factory=session_factory,
    )
    login_from(app, "10.1.1.1", password="not the password")
    _, throttled = login_from(app, "10.1.1.1")
    _, unknown = login_from(app, "10.1.1.2", username="nobody", password="x" * 12)
    assert throttled.status_code == unknown.status_code == 401
    assert error_text(throttled) == error_text(unknown)


def test_admins_see_repeated_failures_in_the_audit_log_and_an_alert(
    database_url, session_factory, staff_accounts
):
    app = create_app(
        make_settings(database_url, AFTERCARE_LOGIN_ALERT_FAILURES="3"), session_factory=session_factory
    )
    for number in range(4):
        login_from(app, f"10.2.0.{number}", password="not the password")
    assert [row[:2] for row in audit_rows(session_factory, "login.alert")] == [("nurse", "login.alert")]
    boss, _ = login_from(app, "10.0.0.1", username="boss")
    page = boss.get("/").get_data(as_text=True)
    assert "4 failed logins for the account <strong>nurse</strong>" in page
    reviewer, _ = login_from(app, "10.0.0.2", username="nurse")
    assert "failed logins for the account" not in reviewer.get("/").get_data(as_text=True)
    alerts_page = boss.get("/admin/alerts").get_data(as_text=True)
    alert_id = re.search(r"/admin/security-alerts/(\d+)/dismiss", alerts_page).group(1)
    assert AuthActions(boss).post(f"/admin/security-alerts/{alert_id}/dismiss").status_code == 302
    assert "failed logins for the account" not in boss.get("/").get_data(as_text=True)
    assert audit_rows(session_factory, "security_alert")[-1][:2] == ("boss", "security_alert.dismiss")


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
    with session_factory.begin() as session:
        reasons = [row.end_reason for row in session.execute(select(StaffSession)).scalars()]
    assert reasons == ["password_changed"]


def test_after_logout_a_copy_of_the_old_cookie_no_longer_works(client, auth, app):
    auth.login("nurse")
    with client.session_transaction() as saved:
        stolen = dict(saved)
    auth.logout()
    thief = app.test_client()
    with thief.session_transaction() as forged:
        forged.update(stolen)
    response = thief.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_a_session_ends_at_its_absolute_lifetime_however_busy(client, auth, session_factory):
    auth.login("nurse")
    with session_factory.begin() as session:
        (started,) = session.execute(select(StaffSession)).scalars()
        assert started.expires_at - started.created_at == timedelta(hours=8)
        expires = started.expires_at
    for _ in range(3):
        assert client.get("/").status_code == 200
    with session_factory.begin() as session:
        assert session.execute(select(StaffSession.expires_at)).scalar_one() == expires
        session.execute(update(StaffSession).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert client.get("/").status_code == 302


def test_logout_is_audited(client, auth, session_factory):
    auth.login("nurse")
    auth.logout()
    assert audit_rows(session_factory)[-1][:2] == ("nurse", "logout")
