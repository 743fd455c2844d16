"""Repeated failed logins reach admins by email and webhook, through the real dashboard and alert worker."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.alerts import AlertConfig, run_once
from bot.dashboard import create_app
from bot.storage import staff
from tests.alerts.conftest import session_factory, smtp_server, webhook  # noqa: F401 - fixtures
from tests.dashboard.conftest import AuthActions, make_settings

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
PASSWORD = "nurse-password-1"


def fail_logins(session_factory, settings, count: int) -> None:  # noqa: F811
    app = create_app(settings, session_factory=session_factory)
    with session_factory.begin() as session:
        staff.create_staff(session=session, username="nurse", password=PASSWORD, role="reviewer")
    for number in range(count):
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{number % 2 + 1}"
        assert AuthActions(client).login("nurse", "not the password").status_code == 401


def test_admins_get_one_email_and_one_webhook_message_naming_the_account(
    session_factory, smtp_server, webhook, tmp_path  # noqa: F811
):
    settings = make_settings(
        str(session_factory.kw["bind"].url),
        AFTERCARE_SMTP_HOST=smtp_server["host"],
        AFTERCARE_SMTP_PORT=str(smtp_server["port"]),
        AFTERCARE_SMTP_FROM="aftercare@clinic.example",
        AFTERCARE_ALERT_EMAILS="admin@clinic.example",
        AFTERCARE_ALERT_WEBHOOK_URL=webhook.url,
        AFTERCARE_LOGIN_ALERT_FAILURES="5",
    )
    fail_logins(session_factory, settings, 7)
    config = AlertConfig.from_settings(settings)
    run_once(session_factory, config, now=T0)
    run_once(session_factory, config, now=T0)
    [email] = smtp_server["sink"].messages
    assert email["Subject"] == "[Aftercare] 7 failed logins for the account nurse"
    assert "192.0.2.1" in email.get_payload() and PASSWORD not in email.get_payload()
    [body] = webhook.bodies
    assert body["aftercare"]["account"] == "nurse"
    assert body["aftercare"]["link"] == "https://dashboard.example/admin/audit?actor=nurse&action=login."


def test_a_failed_delivery_is_retried_at_the_next_round(session_factory, webhook):  # noqa: F811
    settings = make_settings(str(session_factory.kw["bind"].url), AFTERCARE_ALERT_WEBHOOK_URL=webhook.url)
    fail_logins(session_factory, settings, 5)
    webhook.statuses = [500]
    config = AlertConfig.from_settings(settings)
    run_once(session_factory, config, now=T0)
    assert webhook.bodies == []
    run_once(session_factory, config, now=T0)
    run_once(session_factory, config, now=T0)
    assert [body["aftercare"]["account"] for body in webhook.bodies] == ["nurse"]
