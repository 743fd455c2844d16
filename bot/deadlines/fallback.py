"""The patient's fallback message when nobody acknowledged their flag in time.

The sentence is a domain response (``utter_deadline_fallback_*``) filled with the clinic's
values, chosen by level and by whether the clinic is open now: the clinic's phone, the
out-of-hours service for an urgent flag out of hours, the emergency number for an emergency.
It goes out through the shared outbound primitive (``bot.storage.outbound``), under a key
per flag and level, so a restarted worker never queues it twice.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, Mapping, Optional

import yaml
from sqlalchemy.orm import Session

from bot.settings import PROJECT_ROOT
from bot.storage.models import Flag

DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
FALLBACK_PHONE = "utter_deadline_fallback_phone"
FALLBACK_OUT_OF_HOURS = "utter_deadline_fallback_out_of_hours"
FALLBACK_EMERGENCY = "utter_deadline_fallback_emergency"
FALLBACK_RESPONSES = (FALLBACK_PHONE, FALLBACK_OUT_OF_HOURS, FALLBACK_EMERGENCY)


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def response_for(level: str, clinic_open: bool) -> str:
    """Name the fallback response for a flag of ``level`` (open: is the clinic open now?)."""
    if level == "emergency":
        return FALLBACK_EMERGENCY
    if level == "urgent" and not clinic_open:
        return FALLBACK_OUT_OF_HOURS
    return FALLBACK_PHONE


@lru_cache(maxsize=2)
def _responses(domain_file: Path) -> Dict[str, str]:
    with domain_file.open(encoding="utf-8") as handle:
        responses = yaml.safe_load(handle).get("responses", {})
    return {name: str(responses[name][0]["text"]) for name in FALLBACK_RESPONSES if name in responses}


def render(name: str, values: Mapping[str, str], domain_file: Path = DOMAIN_FILE) -> str:
    """Fill the response's text with clinic values (an unknown placeholder stays visible)."""
    return _responses(domain_file)[name].format_map(_Blank(values))


def fallback_key(flag_id: int, level: str, round_from_step: int = 0) -> str:
    """The outbound idempotency key of one flag's fallback at one level (and round, once reopened)."""
    key = f"deadline-fallback:{flag_id}:{level}"
    return f"{key}:{round_from_step}" if round_from_step else key


def queue_fallback(
    session: Session,
    *,
    flag: Flag,
    level: str,
    clinic_open: bool,
    values: Mapping[str, str],
    round_from_step: int = 0,
) -> Optional[int]:
    """Queue the fallback for ``flag`` in the caller's transaction; None if its channel cannot send."""
    from bot.storage.outbound import KIND_FALLBACK, UnknownChannelError, queue_outbound

    text = render(response_for(level, clinic_open), values)
    try:
        row = queue_outbound(
            session,
            conversation_id=str(flag.conversation_id),
            kind=KIND_FALLBACK,
            text=text,
            key=fallback_key(int(flag.id), level, round_from_step),
        )
    except UnknownChannelError:
        return None
    return int(row.id)
