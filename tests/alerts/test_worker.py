"""Alert delivery against a real SMTP server and a real HTTP receiver: delivery, retry, visible failure."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot.alerts import AlertConfig, AlertWorker, run_once
from bot.settings import Settings
from bot.storage import outbox
from bot.storage.flags import raise_flag
from bot.storage.models import AlertOutbox
from tests.postgres import free_port

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
PATIENT_MESSAGE = "my throat is swelling and my number is 07700900123"


def config(**extra: str) -> AlertConfig:
    return AlertConfig.from_settings(
        Settings.from_env({"AFTERCARE_DASHBOARD_URL": "https://review.clinic.example/", **extra})
    )


def email_config(smtp_server, **extra: str) -> AlertConfig:
    return config(
        AFTERCARE_SMTP_HOST=smtp_server["host"],
        AFTERCARE_SMTP_PORT=str(smtp_server["port"]),
        AFTERCARE_SMTP_FROM="aftercare@clinic.example",
        AFTERCARE_ALERT_EMAILS="nurse@clinic.example, doctor@clinic.example",
        **extra,
    )


def emergency(session_factory, level="emergency") -> int:
    with session_factory.begin() as session:
        flag = raise_flag(
            session=session,
            conversation_id="+447700900123",
            channel="twilio",
            channel_user_id="+447700900123",
            level=level,
            kind="triage",
            reason="allergic reaction",
            rule="anaphylaxis",
            matched_text="throat is swelling",
            message=PATIENT_MESSAGE,
            now=T0,
        )
        return int(flag.id)


def statuses(session_factory):
    with session_factory.begin() as session:
        rows = session.execute(select(AlertOutbox).order_by(AlertOutbox.channel)).scalars()
        return {row.channel: (row.status, row.attempts) for row in rows}


def test_an_email_alert_is_delivered_without_patient_text(session_factory, smtp_server):
    flag_id = emergency(session_factory)
    report = run_once(session_factory, email_config(smtp_server), now=T0)
    assert len(report.delivered) == 1 and len(report.skipped) == 1 and report.failed == []
    assert statuses(session_factory) == {"email": ("delivered", 1), "webhook": ("skipped", 0)}
    [mail] = smtp_server["sink"].messages
    assert smtp_server["sink"].envelopes == [["nurse@clinic.example", "doctor@clinic.example"]]
    assert mail["Subject"] == f"[Aftercare] Emergency flag #{flag_id}"
    assert mail["From"] == "aftercare@clinic.example"
    body = mail.get_payload(decode=True).decode()
    assert f"https://review.clinic.example/flags/{flag_id}" in body
    assert "+44 ••• ••• 123" in body
    assert "07700900123" not in body and "7700900123" not in body and "throat" not in body


def test_a_webhook_alert_posts_json(session_factory, webhook):
    flag_id = emergency(session_factory, level="urgent")
    run_once(session_factory, config(AFTERCARE_ALERT_WEBHOOK_URL=webhook.url), now=T0)
    assert statuses(session_factory) == {"email": ("skipped", 0), "webhook": ("delivered", 1)}
    [body] = webhook.bodies
    assert body["text"].startswith(f"[Aftercare] Urgent flag #{flag_id}")
    assert body["aftercare"] == {
        "event": "created",
        "level": "urgent",
        "flag_id": flag_id,
        "patient": "+44 ••• ••• 123",
        "channel": "twilio",
        "link": f"https://review.clinic.example/flags/{flag_id}",
    }
    assert "swelling" not in str(body)


def test_a_webhook_that_fails_first_is_retried_after_the_backoff(session_factory, webhook):
    emergency(session_factory)
    webhook.statuses = [500]
    settings = config(AFTERCARE_ALERT_WEBHOOK_URL=webhook.url, AFTERCARE_ALERT_RETRY_SECONDS="60")
    first = run_once(session_factory, settings, now=T0)
    assert len(first.failed) == 1
    with session_factory.begin() as session:
        [problem] = outbox.problem_alerts(session=session)
        assert "HTTP 500" in problem.last_error and problem.next_attempt_at == T0 + timedelta(seconds=60)
    assert run_once(session_factory, settings, now=T0 + timedelta(seconds=59)).failed == []
    assert webhook.bodies == []
    again = run_once(session_factory, settings, now=T0 + timedelta(seconds=60))
    assert again.delivered == first.failed
    assert statuses(session_factory)["webhook"] == ("delivered", 2)
    assert len(webhook.bodies) == 1


def test_an_smtp_temporary_refusal_is_retried(session_factory, smtp_server):
    emergency(session_factory)
    smtp_server["sink"].refuse_next = 1
    settings = email_config(smtp_server)
    assert len(run_once(session_factory, settings, now=T0).failed) == 1
    with session_factory.begin() as session:
        assert "451" in outbox.problem_alerts(session=session)[0].last_error
    assert len(run_once(session_factory, settings, now=T0 + timedelta(minutes=5)).delivered) == 1
    assert len(smtp_server["sink"].messages) == 1


def test_an_unreachable_server_fails_visibly_after_the_last_attempt(session_factory):
    emergency(session_factory)
    settings = config(
        AFTERCARE_SMTP_HOST="127.0.0.1",
        AFTERCARE_SMTP_PORT=str(free_port()),
        AFTERCARE_SMTP_FROM="aftercare@clinic.example",
        AFTERCARE_ALERT_EMAILS="nurse@clinic.example",
        AFTERCARE_ALERT_MAX_ATTEMPTS="3",
    )
    for hours in range(3):
        run_once(session_factory, settings, now=T0 + timedelta(hours=hours))
    assert statuses(session_factory)["email"] == ("failed", 3)
    with session_factory.begin() as session:
        [problem] = outbox.problem_alerts(session=session)
        assert "ConnectionRefusedError" in problem.last_error
    assert run_once(session_factory, settings, now=T0 + timedelta(days=1)).failed == []


def test_the_worker_thread_delivers_in_the_background(session_factory, webhook):
    emergency(session_factory)
    worker = AlertWorker(session_factory, config(AFTERCARE_ALERT_WEBHOOK_URL=webhook.url))
    worker.start()
    try:
        assert webhook.received.wait(timeout=30)
    finally:
        worker.stop()
        worker.join(timeout=30)
    assert not worker.is_alive()
    assert statuses(session_factory)["webhook"][0] == "delivered"


@pytest.mark.parametrize(
    "extra, expected",
    [
        ({}, (False, False, 25)),
        (
            {"AFTERCARE_SMTP_HOST": "mail", "AFTERCARE_SMTP_FROM": "a@b", "AFTERCARE_ALERT_EMAILS": "x@y"},
            (True, False, 25),
        ),
        ({"AFTERCARE_SMTP_HOST": "mail", "AFTERCARE_SMTP_STARTTLS": "1"}, (False, False, 587)),
        ({"AFTERCARE_SMTP_SSL": "true"}, (False, False, 465)),
        ({"AFTERCARE_ALERT_WEBHOOK_URL": "https://hooks.example/x"}, (False, True, 25)),
    ],
)
def test_channels_are_enabled_by_their_settings(extra, expected):
    settings = config(**extra)
    assert (settings.email_enabled, settings.webhook_enabled, settings.smtp_port) == expected


def test_a_nonsense_number_is_reported_by_name():
    with pytest.raises(ValueError, match="AFTERCARE_SMTP_PORT"):
        config(AFTERCARE_SMTP_PORT="twenty-five")
