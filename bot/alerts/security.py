"""Telling admins by email and/or webhook about repeated failed logins (security alerts).

The dashboard records the alert in ``aftercare_security_alerts`` in the same transaction
as the failed login; this module sends it from the alert worker, outside any transaction,
with the worker's retry limit. A partial failure (email sent, webhook down) is retried as a
whole, so an admin may get the same warning twice, never none.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, List, Mapping, Optional
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.alerts.config import AlertConfig
from bot.alerts.message import AlertMessage, _environment
from bot.storage.db import utcnow
from bot.storage.security_models import SecurityAlert

logger = logging.getLogger(__name__)

Sender = Callable[[AlertConfig, AlertMessage], None]


@dataclass(frozen=True)
class _Job:
    alert_id: int
    message: AlertMessage


def build_security_message(alert: SecurityAlert, dashboard_url: str) -> AlertMessage:
    """Compose the warning: account, count, addresses and a link; never a password or patient data."""
    query = urlencode({"actor": alert.subject, "action": "login."})
    values = {
        "account": alert.subject,
        "failures": alert.count,
        "addresses": alert.addresses or "unknown",
        "link": f"{dashboard_url.rstrip('/')}/admin/audit?{query}",
    }
    environment = _environment()
    subject = environment.get_template("security_subject.txt").render(values).strip()
    text = environment.get_template("security_body.txt").render(values).strip()
    payload = {"text": f"{subject}\n{text}", "aftercare": {"event": alert.kind, **values}}
    return AlertMessage(subject=subject, text=text, payload=payload)


def deliver_security_alerts(
    factory: sessionmaker,
    config: AlertConfig,
    *,
    senders: Mapping[str, Sender],
    now: Optional[datetime] = None,
) -> List[int]:
    """Send each security alert not yet sent over every configured channel; return the ids sent."""
    now = now or utcnow()
    channels = [channel for channel in senders if config.enabled(channel)]
    if not channels:
        return []
    with factory.begin() as session:
        statement = (
            select(SecurityAlert)
            .where(
                SecurityAlert.notified_at.is_(None),
                SecurityAlert.notify_attempts < config.retry.max_attempts,
            )
            .order_by(SecurityAlert.id)
            .limit(20)
        )
        jobs = [
            _Job(alert.id, build_security_message(alert, config.dashboard_url))
            for alert in session.execute(statement).scalars()
        ]
    sent = []
    for job in jobs:
        errors = []
        for channel in channels:
            try:
                senders[channel](config, job.message)
            except Exception as exc:  # noqa: BLE001 - record any failure, never crash the worker
                errors.append(f"{channel}: {type(exc).__name__}: {exc}")
        with factory.begin() as session:
            alert = session.get(SecurityAlert, job.alert_id)
            if alert is None:
                continue
            alert.notify_attempts = int(alert.notify_attempts or 0) + 1
            if errors:
                alert.notify_error = "; ".join(errors)[:2000]
                logger.warning("security alert %s not delivered: %s", job.alert_id, alert.notify_error)
            else:
                alert.notified_at = now
                alert.notify_error = None
                sent.append(job.alert_id)
    return sent
