"""The fixed words our tables use, in one place for models, code and templates."""

from __future__ import annotations

from enum import Enum
from functools import lru_cache
from pathlib import Path
from typing import Dict, Tuple

import yaml

LABELS_FILE = Path(__file__).with_name("labels.yml")


class FlagKind(str, Enum):
    """Why a conversation was flagged for staff."""

    TRIAGE = "triage"
    HANDOFF = "handoff"
    FALLBACK = "fallback"


FLAG_KINDS: Tuple[str, ...] = tuple(kind.value for kind in FlagKind)
FLAG_LEVELS: Tuple[str, ...] = ("emergency", "urgent", "routine", "handoff", "fallback")
TRIAGE_LEVELS: Tuple[str, ...] = ("emergency", "urgent", "routine")

# Higher is worse. Only triage levels are ordered; handoff and fallback never outrank them.
LEVEL_SEVERITY: Dict[str, int] = {"emergency": 3, "urgent": 2, "routine": 1, "handoff": 0, "fallback": 0}

# A new flag at, or a raise to, one of these levels sends an alert to staff.
ALERT_LEVELS: Tuple[str, ...] = ("emergency", "urgent")

STATUS_OPEN = "open"
STATUS_ACKNOWLEDGED = "acknowledged"
STATUS_RESOLVED = "resolved"
FLAG_STATUSES: Tuple[str, ...] = (STATUS_OPEN, STATUS_ACKNOWLEDGED, STATUS_RESOLVED)
UNRESOLVED_STATUSES: Tuple[str, ...] = (STATUS_OPEN, STATUS_ACKNOWLEDGED)

OUTCOMES: Tuple[str, ...] = ("contacted_patient", "advised_visit", "false_alarm", "other")
# Staff's verdict on the rule that raised a resolved flag (``aftercare report flags``).
TRUE_ALARM = "true_alarm"
FALSE_ALARM = "false_alarm"
ALARMS: Tuple[str, ...] = (TRUE_ALARM, FALSE_ALARM)

ROLE_REVIEWER = "reviewer"
ROLE_ADMIN = "admin"
STAFF_ROLES: Tuple[str, ...] = (ROLE_REVIEWER, ROLE_ADMIN)

ALERT_CHANNELS: Tuple[str, ...] = ("email", "webhook")
ALERT_EVENTS: Tuple[str, ...] = ("created", "raised")
ALERT_PENDING = "pending"
ALERT_DELIVERED = "delivered"
ALERT_FAILED = "failed"
ALERT_SKIPPED = "skipped"
ALERT_STATUSES: Tuple[str, ...] = (ALERT_PENDING, ALERT_DELIVERED, ALERT_FAILED, ALERT_SKIPPED)


def sql_in(column: str, values: Tuple[str, ...]) -> str:
    """Return a CHECK constraint body limiting ``column`` to ``values``."""
    quoted = ", ".join(f"'{value}'" for value in values)
    return f"{column} IN ({quoted})"


@lru_cache(maxsize=1)
def flag_labels() -> Dict[str, Dict[str, str]]:
    """Return what staff read for each flag level and kind (``levels`` and ``kinds``), loaded once."""
    with LABELS_FILE.open(encoding="utf-8") as handle:
        return {group: dict(words) for group, words in yaml.safe_load(handle).items()}
