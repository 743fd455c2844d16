"""Response-time targets per flag level, escalation when they pass, the patient's fallback.

Targets, opening hours and the escalation chain are clinic settings (``knowledge/clinic.yml``,
parsed by :mod:`bot.knowledge.deadline_policy`); :mod:`bot.deadlines.worker` is the supervised worker
that ``aftercare run`` starts as ``aftercare deadlines``.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import List

from bot.alerts.config import AlertConfig
from bot.deadlines.worker import DeadlineContext, DeadlineReport, DeadlineWorker, run_once
from bot.settings import Settings

__all__ = [
    "DeadlineContext",
    "DeadlineReport",
    "DeadlineWorker",
    "deadline_context",
    "run_once",
    "worker_command",
]


def deadline_context(settings: Settings) -> DeadlineContext:
    """Build the worker's context from the settings and the clinic file."""
    from bot.knowledge.clinic import load_clinic_settings

    clinic = load_clinic_settings(settings)
    alerts = AlertConfig.from_settings(settings)
    return DeadlineContext(
        policy=clinic.deadlines,
        clinic_values=clinic.as_template_values(),
        alerts=alerts,
        claim=timedelta(seconds=settings.deadlines.claim_seconds),
        retry=alerts.retry,
    )


def worker_command(settings: Settings) -> List[str]:
    """The command line ``aftercare run`` supervises."""
    return [sys.executable, "-m", "bot.cli", "deadlines", "--interval", str(settings.deadlines.poll_seconds)]
