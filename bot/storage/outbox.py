"""The alert outbox: alerts are queued with the flag and delivered by a worker later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage.db import claim_rows, utcnow
from bot.storage.models import AlertOutbox, Flag
from bot.storage.vocabulary import (
    ALERT_CHANNELS,
    ALERT_DELIVERED,
    ALERT_EVENTS,
    ALERT_FAILED,
    ALERT_PENDING,
    ALERT_SKIPPED,
)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently an undeliverable alert is retried."""

    max_attempts: int = 6
    base_delay: timedelta = timedelta(seconds=30)
    max_delay: timedelta = timedelta(hours=1)

    def delay_after(self, attempts: int) -> timedelta:
        """Return the wait after the ``attempts``-th failed attempt (exponential, capped)."""
        delay = self.base_delay * (2 ** max(attempts - 1, 0))
        return min(delay, self.max_delay)


def enqueue_alerts(
    *,
    session: Session,
    flag: Flag,
    event: str,
    channels: Sequence[str] = ALERT_CHANNELS,
    now: Optional[datetime] = None,
) -> List[AlertOutbox]:
    """Queue one alert per channel for ``flag``; the worker skips channels it has no settings for.

    The flag must already have an id (flush it first).
    """
    if event not in ALERT_EVENTS:
        raise ValueError(f"unknown alert event {event!r}")
    now = now or utcnow()
    rows = [
        AlertOutbox(
            flag_id=flag.id,
            channel=channel,
            event=event,
            level=flag.level,
            status=ALERT_PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for channel in channels
    ]
    session.add_all(rows)
    session.flush()
    return rows


def due_alerts(*, session: Session, now: Optional[datetime] = None, limit: int = 50) -> List[AlertOutbox]:
    """Return pending alerts whose next attempt is due, oldest first."""
    pending = AlertOutbox.status == ALERT_PENDING
    statement = claim_rows(AlertOutbox, pending, due=AlertOutbox.next_attempt_at, now=now, limit=limit)
    return list(session.execute(statement).scalars())


def mark_delivered(*, session: Session, alert: AlertOutbox, now: Optional[datetime] = None) -> None:
    """Record a successful delivery."""
    alert.attempts += 1
    alert.status = ALERT_DELIVERED
    alert.delivered_at = now or utcnow()
    alert.last_error = None


def mark_skipped(*, session: Session, alert: AlertOutbox, reason: str) -> None:
    """Record that this channel is not configured, so nothing was sent over it."""
    alert.status = ALERT_SKIPPED
    alert.last_error = reason


def mark_attempt_failed(
    *,
    session: Session,
    alert: AlertOutbox,
    error: str,
    policy: RetryPolicy = RetryPolicy(),
    now: Optional[datetime] = None,
) -> None:
    """Record a failed attempt: retry later with backoff, or give up after the last attempt."""
    now = now or utcnow()
    alert.attempts += 1
    alert.last_error = error[:2000]
    if alert.attempts >= policy.max_attempts:
        alert.status = ALERT_FAILED
    else:
        alert.next_attempt_at = now + policy.delay_after(alert.attempts)


def retry_now(*, session: Session, alert_id: int, now: Optional[datetime] = None) -> Optional[AlertOutbox]:
    """Put a failed or waiting alert back at the front of the queue with a fresh set of attempts."""
    alert = session.get(AlertOutbox, alert_id)
    if alert is None or alert.status == ALERT_DELIVERED:
        return None
    alert.status = ALERT_PENDING
    alert.attempts = 0
    alert.next_attempt_at = now or utcnow()
    return alert


def problem_alerts(*, session: Session, limit: int = 200) -> List[AlertOutbox]:
    """Return alerts that gave up, or that failed at least once and still wait; newest first."""
    statement = (
        select(AlertOutbox)
        .where(
            (AlertOutbox.status == ALERT_FAILED)
            | ((AlertOutbox.status == ALERT_PENDING) & (AlertOutbox.attempts > 0))
        )
        .order_by(AlertOutbox.created_at.desc(), AlertOutbox.id.desc())
        .limit(limit)
    )
    return list(session.execute(statement).scalars())


def count_problem_alerts(*, session: Session) -> int:
    """Count what :func:`problem_alerts` would list (for a banner on every page)."""
    statement = select(func.count(AlertOutbox.id)).where(
        (AlertOutbox.status == ALERT_FAILED)
        | ((AlertOutbox.status == ALERT_PENDING) & (AlertOutbox.attempts > 0))
    )
    return int(session.execute(statement).scalar_one())


def alerts_for_flag(*, session: Session, flag_id: int) -> List[AlertOutbox]:
    """Return every alert queued for one flag, oldest first."""
    statement = select(AlertOutbox).where(AlertOutbox.flag_id == flag_id).order_by(AlertOutbox.id)
    return list(session.execute(statement).scalars())
