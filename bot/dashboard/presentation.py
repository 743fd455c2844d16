"""Turning stored values into what staff read: labels, local times, masked identities."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Optional

import yaml
from flask import Flask, g

from bot.dashboard.db import state, transaction
from bot.dashboard.security import csrf_token
from bot.storage.login_throttle import open_alerts
from bot.storage.masking import mask_identity
from bot.storage.models import Flag
from bot.storage.outbox import count_problem_alerts
from bot.storage.vocabulary import ROLE_ADMIN, flag_labels

MESSAGES_FILE = Path(__file__).with_name("messages.yml")


@lru_cache(maxsize=1)
def messages() -> Dict[str, Dict[str, str]]:
    """Return the dashboard's sentences and labels (flag levels and kinds from storage), loaded once."""
    with MESSAGES_FILE.open(encoding="utf-8") as handle:
        return {**yaml.safe_load(handle), **flag_labels()}


def label(group: str, value: Optional[str]) -> str:
    """Return the label for ``value`` in ``group`` (e.g. levels/urgent), or the value itself."""
    if value is None:
        return ""
    return messages().get(group, {}).get(value, value)


def message(key: str) -> str:
    """Return a flash sentence by key; ``group.key`` looks in another group (e.g. staff_errors)."""
    group, _, name = key.rpartition(".")
    return messages().get(group or "flash", {}).get(name, key)


def local_time(value: Optional[datetime], fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format a UTC datetime in the clinic's time zone."""
    if value is None:
        return ""
    return value.astimezone(state().config.zone).strftime(fmt)


def masked(flag: Flag) -> str:
    """Return the flag's patient identity, partly hidden."""
    return mask_identity(flag.channel, flag.channel_user_id, flag.conversation_id)


def install(app: Flask) -> None:
    """Make the helpers available in every template."""
    app.add_template_filter(local_time, "local_time")
    app.add_template_filter(masked, "masked")
    app.add_template_global(label, "label")
    app.add_template_global(message, "message")
    app.add_template_global(csrf_token, "csrf_token")

    @app.context_processor
    def _page_context() -> Dict[str, Any]:
        context: Dict[str, Any] = {
            "timezone_name": state().config.timezone,
            "problem_alerts": 0,
            "security_alerts": [],
        }
        user = g.get("user")
        if user is not None:
            with transaction() as db:
                context["problem_alerts"] = count_problem_alerts(session=db)
                if user.role == ROLE_ADMIN:
                    context["security_alerts"] = open_alerts(session=db)
        return context
