"""What an alert says: as little patient data as will do (level, masked identity, a link)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from bot.storage.masking import mask_identity
from bot.storage.models import AlertOutbox, Flag
from bot.storage.vocabulary import flag_labels

TEMPLATES = Path(__file__).with_name("templates")


@dataclass(frozen=True)
class AlertMessage:
    """One alert, ready for any channel."""

    subject: str
    text: str
    payload: Dict[str, Any]


@lru_cache(maxsize=1)
def _environment() -> Environment:
    # Plain text, never HTML: nothing to escape, and StrictUndefined catches a misspelt field.
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)), undefined=StrictUndefined, keep_trailing_newline=False
    )


def flag_values(flag: Flag, level: str, dashboard_url: str) -> Dict[str, Any]:
    """What every staff alert may say about a flag: level, kind, masked patient, channel, link."""
    labels = flag_labels()
    return {
        "level": level,
        "level_label": labels["levels"].get(level, level),
        "kind_label": labels["kinds"].get(flag.kind, flag.kind),
        "flag_id": flag.id,
        "patient": mask_identity(flag.channel, flag.channel_user_id, flag.conversation_id),
        "channel": flag.channel,
        "link": f"{dashboard_url.rstrip('/')}/flags/{flag.id}",
    }


def compose(prefix: str, values: Mapping[str, Any], fields: Mapping[str, Any]) -> AlertMessage:
    """Render the ``<prefix>subject.txt`` and ``<prefix>body.txt`` templates with ``values``.

    The webhook payload carries the text and, under ``aftercare``, the machine-readable ``fields``.
    """
    environment = _environment()
    subject = environment.get_template(f"{prefix}subject.txt").render(values).strip()
    text = environment.get_template(f"{prefix}body.txt").render(values).strip()
    payload = {"text": f"{subject}\n{text}", "aftercare": dict(fields)}
    return AlertMessage(subject=subject, text=text, payload=payload)


def build_message(alert: AlertOutbox, flag: Flag, dashboard_url: str) -> AlertMessage:
    """Compose the alert for ``alert`` about ``flag``, linking to its page on the dashboard."""
    values = {"event": alert.event, **flag_values(flag, alert.level, dashboard_url)}
    fields = {key: values[key] for key in ("event", "level", "flag_id", "patient", "channel", "link")}
    return compose("", values, fields)
