"""The alert outbox: due alerts, backoff, giving up, retrying on request."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.storage import outbox
from bot.storage.flags import raise_flag
from bot.storage.outbox import RetryPolicy

T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
POLICY = RetryPolicy(max_attempts=3, base_delay=timedelta(seconds=10), max_delay=timedelta(seconds=25))


def urgent_flag(session, conversation_id="conv-1"):
    return raise_flag(
        session=session,
        conversation_id=conversation_id,
        channel="rest",
        level="urgent",
        kind="triage",
        reason="fever",
        rule="fever",
        matched_text="fever",
        message="fever",
        now=T0,
    )


def test_backoff_doubles_and_is_capped():
    assert [POLICY.delay_after(n).total_seconds() for n in (1, 2, 3, 4)] == [10, 20, 25, 25]


def test_new_alerts_are_due_at_once(session):
    urgent_flag(session)
    assert outbox.due_alerts(session=session, now=T0 - timedelta(seconds=1)) == []
    assert sorted(alert.channel for alert in outbox.due_alerts(session=session, now=T0)) == [
        "email",
        "webhook",
    ]


def test_a_failed_attempt_waits_then_gives_up_visibly(session):
    urgent_flag(session)
    alert = [a for a in outbox.due_alerts(session=session, now=T0) if a.channel == "email"][0]
    outbox.mark_attempt_failed(
        session=session, alert=alert, error="connection refused", policy=POLICY, now=T0
    )
    assert (alert.status, alert.attempts, alert.next_attempt_at) == ("pending", 1, T0 + timedelta(seconds=10))
    assert alert not in outbox.due_alerts(session=session, now=T0 + timedelta(seconds=9))
    assert alert in outbox.due_alerts(session=session, now=T0 + timedelta(seconds=10))
    assert outbox.problem_alerts(session=session) == [alert]
    outbox.mark_attempt_failed(session=session, alert=alert, error="again", policy=POLICY, now=T0)
    outbox.mark_attempt_failed(session=session, alert=alert, error="and again", policy=POLICY, now=T0)
    assert (alert.status, alert.attempts, alert.last_error) == ("failed", 3, "and again")
    assert alert not in outbox.due_alerts(session=session, now=T0 + timedelta(days=1))
    assert outbox.count_problem_alerts(session=session) == 1


def test_retry_now_requeues_a_failed_alert(session):
    urgent_flag(session)
    alert = outbox.due_alerts(session=session, now=T0)[0]
    for _ in range(3):
        outbox.mark_attempt_failed(session=session, alert=alert, error="down", policy=POLICY, now=T0)
    later = T0 + timedelta(hours=2)
    assert outbox.retry_now(session=session, alert_id=alert.id, now=later) is alert
    assert (alert.status, alert.attempts) == ("pending", 0)
    assert alert in outbox.due_alerts(session=session, now=later)


def test_delivered_and_skipped_alerts_are_not_problems(session):
    urgent_flag(session)
    email, webhook = sorted(outbox.due_alerts(session=session, now=T0), key=lambda a: a.channel)
    outbox.mark_delivered(session=session, alert=email, now=T0)
    outbox.mark_skipped(session=session, alert=webhook, reason="not configured")
    assert (email.status, email.attempts, email.delivered_at) == ("delivered", 1, T0)
    assert webhook.status == "skipped"
    assert outbox.due_alerts(session=session, now=T0) == []
    assert outbox.problem_alerts(session=session) == []
    assert outbox.retry_now(session=session, alert_id=email.id) is None


def test_alerts_belong_to_their_flag(session):
    flag = urgent_flag(session)
    other = urgent_flag(session, "conv-2")
    assert {alert.flag_id for alert in outbox.alerts_for_flag(session=session, flag_id=flag.id)} == {flag.id}
    assert len(outbox.alerts_for_flag(session=session, flag_id=other.id)) == 2
