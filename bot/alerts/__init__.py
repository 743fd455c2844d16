"""Alerts to staff about new and worsening flags, by email and/or webhook.

Flags queue alerts in the database (``bot.storage.outbox``); :class:`AlertWorker`
delivers them with retries. Configuration: :class:`AlertConfig` (``AFTERCARE_SMTP_*``,
``AFTERCARE_ALERT_*``, ``AFTERCARE_DASHBOARD_URL``).
"""

from bot.alerts.config import AlertConfig
from bot.alerts.worker import AlertWorker, RoundReport, run_once

__all__ = ["AlertConfig", "AlertWorker", "RoundReport", "run_once"]
