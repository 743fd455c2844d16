"""Admin pages: accounts, the audit log viewer, failed alerts."""

from __future__ import annotations

from bot.storage import audit, outbox, staff
from bot.storage.models import AlertOutbox
from tests.dashboard.conftest import add_flag

NEW_ACCOUNT = {
    "username": "doctor",
    "role": "reviewer",
    "password": "doctor-password",
    "password_again": "doctor-password",
}


def test_an_admin_adds_an_account_that_can_log_in(client, auth, session_factory):
    auth.login("boss")
    response = auth.post("/admin/staff", NEW_ACCOUNT)
    assert response.status_code == 302
    with session_factory.begin() as session:
        assert staff.get_staff(session=session, username="doctor").role == "reviewer"
        entry = audit.entries(session=session, action="staff.add")[0]
        assert (entry.actor, entry.target, entry.detail) == ("boss", "staff:doctor", "role=reviewer")
    auth.logout()
    assert auth.login("doctor", "doctor-password").status_code == 302


def test_bad_new_accounts_are_refused_with_a_reason(client, auth, session_factory):
    auth.login("boss")
    cases = [
        ({**NEW_ACCOUNT, "password_again": "something else"}, "not the same"),
        ({**NEW_ACCOUNT, "password": "short", "password_again": "short"}, "at least 10 characters"),
        ({**NEW_ACCOUNT, "username": "nurse"}, "exists already"),
        ({**NEW_ACCOUNT, "role": "owner"}, "reviewer or the admin role"),
    ]
    for data, reason in cases:
        response = auth.post("/admin/staff", data)
        assert response.status_code == 400
        assert reason in response.get_data(as_text=True)
    with session_factory.begin() as session:
        assert [user.username for user in staff.list_staff(session=session)] == ["boss", "nurse"]


def test_an_admin_disables_and_enables_an_account(client, auth, session_factory):
    with session_factory.begin() as session:
        nurse_id = staff.get_staff(session=session, username="nurse").id
    auth.login("boss")
    auth.post(f"/admin/staff/{nurse_id}/disable")
    assert "Disabled" in client.get("/admin/staff").get_data(as_text=True)
    auth.post(f"/admin/staff/{nurse_id}/enable")
    with session_factory.begin() as session:
        assert staff.get_staff(session=session, username="nurse").active
        assert [entry.action for entry in audit.entries(session=session, action="staff.")] == [
            "staff.enable",
            "staff.disable",
        ]


def test_the_last_admin_cannot_disable_themselves(client, auth, session_factory):
    with session_factory.begin() as session:
        boss_id = staff.get_staff(session=session, username="boss").id
    auth.login("boss")
    response = auth.post(f"/admin/staff/{boss_id}/disable", follow_redirects=True)
    assert "last enabled admin" in response.get_data(as_text=True)
    assert client.get("/admin/staff").status_code == 200


def test_the_audit_log_viewer_lists_and_filters(client, auth, session_factory):
    auth.login("nurse", "wrong password")
    auth.login("nurse")
    auth.logout()
    auth.login("boss")
    by_nurse = client.get("/admin/audit?actor=nurse").get_data(as_text=True).split("<tbody>")[1]
    assert "Logged in" in by_nurse and "Logged out" in by_nurse and "<td>boss</td>" not in by_nurse
    failures = client.get("/admin/audit?action=login.failure").get_data(as_text=True).split("<tbody>")[1]
    assert "Failed login" in failures and "bad_password" in failures and "Logged in" not in failures


def test_failed_alerts_are_listed_and_can_be_retried(client, auth, session_factory):
    add_flag(session_factory, level="emergency")
    with session_factory.begin() as session:
        alert = outbox.due_alerts(session=session)[0]
        for _ in range(6):
            outbox.mark_attempt_failed(session=session, alert=alert, error="SMTPServerDisconnected: gone")
        alert_id = alert.id
    auth.login("boss")
    html = client.get("/admin/alerts").get_data(as_text=True)
    assert "SMTPServerDisconnected: gone" in html and "Failed (gave up)" in html
    assert "No alert channel is configured" in html
    auth.post(f"/admin/alerts/{alert_id}/retry")
    with session_factory.begin() as session:
        retried = session.get(AlertOutbox, alert_id)
        assert (retried.status, retried.attempts) == ("pending", 0)
        assert audit.entries(session=session, action="alert.retry")[0].target == f"alert:{alert_id}"
    assert "Every alert has been delivered" in client.get("/admin/alerts").get_data(as_text=True)
