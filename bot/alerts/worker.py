"""The delivery worker: sends what the outbox holds, retrying with backoff.

Network calls happen outside any database transaction, so a slow mail server never
holds a lock that the assistant needs for raising the next flag.

Safe on several replicas: claiming an alert moves its next attempt past the time one
delivery can take (``claim_lease``), in the transaction that locked the row (``FOR UPDATE
SKIP LOCKED`` on PostgreSQL), so another replica neither waits for it nor sends it too.
A worker that dies mid-delivery leaves the alert to be retried once that time has passed
(at least once, as a mail or webhook call can never be exactly once). Security alerts are
sent only by the replica holding the ``alerts:security`` lease.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Dict, List, Optional

from sqlalchemy.orm import sessionmaker

from bot.alerts.config import AlertConfig
from bot.alerts.message import AlertMessage, build_message
from bot.alerts.security import deliver_security_alerts
from bot.alerts.senders import SENDERS
from bot.storage import leases, outbox
from bot.storage.db import utcnow
from bot.storage.models import AlertOutbox, Flag
from bot.storage.vocabulary import ALERT_PENDING

logger = logging.getLogger(__name__)

Sender = Callable[[AlertConfig, AlertMessage], None]
SECURITY_LEASE = "alerts:security"


def claim_lease(config: AlertConfig) -> timedelta:
    """How long a claimed alert is left alone by other replicas: every channel timing out, twice."""
    return timedelta(seconds=60 + 2 * config.timeout_seconds * 2)


@dataclass
class RoundReport:
    """What one round of deliveries did (alert ids per result)."""

    delivered: List[int] = field(default_factory=list)
    failed: List[int] = field(default_factory=list)
    skipped: List[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Job:
    alert_id: int
    channel: str
    message: AlertMessage


def _claim(factory: sessionmaker, config: AlertConfig, now: datetime, report: RoundReport) -> List[_Job]:
    """Claim due alerts (see the module docstring); mark those for unconfigured channels as skipped."""
    jobs: List[_Job] = []
    with factory.begin() as session:
        for alert in outbox.due_alerts(session=session, now=now):
            if not config.enabled(alert.channel):
                outbox.mark_skipped(
                    session=session, alert=alert, reason=f"{alert.channel} alerts are not configured"
                )
                report.skipped.append(alert.id)
                continue
            flag = session.get(Flag, alert.flag_id)
            if flag is None:
                continue
            alert.next_attempt_at = now + claim_lease(config)
            jobs.append(_Job(alert.id, alert.channel, build_message(alert, flag, config.dashboard_url)))
    return jobs


def _record(
    factory: sessionmaker,
    config: AlertConfig,
    job: _Job,
    error: Optional[str],
    now: datetime,
    report: RoundReport,
) -> None:
    with factory.begin() as session:
        alert = session.get(AlertOutbox, job.alert_id)
        if alert is None or alert.status != ALERT_PENDING:
            return
        if error is None:
            outbox.mark_delivered(session=session, alert=alert, now=now)
            report.delivered.append(job.alert_id)
        else:
            outbox.mark_attempt_failed(
                session=session, alert=alert, error=error, policy=config.retry, now=now
            )
            report.failed.append(job.alert_id)


def run_once(
    factory: sessionmaker,
    config: AlertConfig,
    *,
    now: Optional[datetime] = None,
    senders: Optional[Dict[str, Sender]] = None,
) -> RoundReport:
    """Deliver every due alert once; failures are recorded on the alert for a later retry."""
    now = now or utcnow()
    chosen = senders if senders is not None else SENDERS
    report = RoundReport()
    for job in _claim(factory, config, now, report):
        error: Optional[str] = None
        try:
            chosen[job.channel](config, job.message)
        except Exception as exc:  # noqa: BLE001 - any failure must be recorded, never crash the worker
            error = f"{type(exc).__name__}: {exc}"
            logger.warning("alert %s over %s failed: %s", job.alert_id, job.channel, error)
        _record(factory, config, job, error, now, report)
    if _lead(factory, config, now):
        deliver_security_alerts(factory, config, senders=chosen, now=now)
    return report


_HOLDER = leases.holder_id("alerts")


def _lead(factory: sessionmaker, config: AlertConfig, now: datetime) -> bool:
    """Take (or keep) the security-alert lease for the next round or two."""
    ttl = timedelta(seconds=config.poll_seconds * 2) + claim_lease(config)
    with factory.begin() as session:
        return leases.acquire(session=session, name=SECURITY_LEASE, holder=_HOLDER, ttl=ttl, now=now)


class AlertWorker(threading.Thread):
    """Run :func:`run_once` every ``config.poll_seconds`` until stopped (daemon thread)."""

    def __init__(self, factory: sessionmaker, config: AlertConfig) -> None:
        super().__init__(name="aftercare-alerts", daemon=True)
        self.factory = factory
        self.config = config
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                run_once(self.factory, self.config)
            except Exception:  # noqa: BLE001 - e.g. the database is briefly unavailable; try next round
                logger.exception("alert delivery round failed")
            self._stop_event.wait(self.config.poll_seconds)

    def stop(self) -> None:
        """Ask the thread to finish after the current round."""
        self._stop_event.set()
