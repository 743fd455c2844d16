"""The clinic's response-time targets and escalation chain, read from the clinic file.

The clinic file (``knowledge/clinic.yml``) may hold three optional keys, checked here:
``timezone`` (IANA name), ``hours`` (weekly opening hours as times) and ``deadlines``
(``targets`` per flag level, the escalation ``chain`` and the out-of-hours ``on_call`` list).
Missing keys fall back to the defaults below, so an older clinic file keeps working.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from bot.knowledge.opening_hours import OpeningHours, parse_week

MESSAGES_FILE = Path(__file__).with_name("deadline_messages.yml")
CHANNELS = ("email", "webhook")
CLOCK_WALL = "wall"
CLOCK_OPENING_HOURS = "opening_hours"
# Levels whose missed deadline is urgent for staff; the others alert at a lower priority.
HIGH_PRIORITY_LEVELS = ("emergency", "urgent")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$", re.IGNORECASE)
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def parse_duration(text: object) -> timedelta:
    """Parse ``45s``, ``5m``, ``4h`` or ``1d``; at least one second."""
    match = _DURATION.match(str(text))
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"expected a duration like 5m, 4h or 1d, not {text!r}")
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


@dataclass(frozen=True)
class Target:
    """How soon staff should acknowledge a flag of one level."""

    in_hours: timedelta
    out_of_hours: timedelta
    clock: str = CLOCK_WALL

    def amount(self, clinic_open: bool) -> timedelta:
        """The target that runs for a flag raised now: opening time, or wall time by opening hours."""
        if self.clock == CLOCK_OPENING_HOURS or clinic_open:
            return self.in_hours
        return self.out_of_hours

    def due(self, hours: OpeningHours, start: datetime, steps: int = 1) -> datetime:
        """Return when ``steps`` targets have passed since ``start`` (opening time only, if so set)."""
        if self.clock == CLOCK_OPENING_HOURS:
            return hours.add_open_time(start, self.in_hours * steps)
        return start + self.amount(hours.is_open(start)) * steps


@dataclass(frozen=True)
class Recipient:
    """One person (or team inbox, or chat channel) in an escalation chain."""

    name: str
    channel: str
    address: str


DEFAULT_TARGETS: Mapping[str, Target] = {
    "emergency": Target(timedelta(minutes=5), timedelta(minutes=5)),
    "urgent": Target(timedelta(minutes=30), timedelta(minutes=30)),
    "routine": Target(timedelta(hours=8), timedelta(hours=8), CLOCK_OPENING_HOURS),
    "handoff": Target(timedelta(hours=4), timedelta(hours=4), CLOCK_OPENING_HOURS),
    "fallback": Target(timedelta(hours=8), timedelta(hours=8), CLOCK_OPENING_HOURS),
}


@dataclass(frozen=True)
class DeadlinePolicy:
    """Targets per flag level, the opening hours they are measured in, and who is alerted next."""

    hours: OpeningHours = OpeningHours()
    targets: Mapping[str, Target] = field(default_factory=lambda: dict(DEFAULT_TARGETS))
    chain: Tuple[Recipient, ...] = ()
    on_call: Tuple[Recipient, ...] = ()

    def target(self, level: str) -> Optional[Target]:
        return self.targets.get(level)

    def recipients(self, moment: datetime) -> Tuple[Recipient, ...]:
        """The chain in opening hours, the on-call list outside them (the chain if there is none)."""
        if self.hours.is_open(moment) or not self.on_call:
            return self.chain
        return self.on_call


def _recipient(item: object, where: str) -> Recipient:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: each recipient is a mapping like {{name: ..., email: ...}}")
    channels = [channel for channel in CHANNELS if item.get(channel)]
    if len(channels) != 1:
        raise ValueError(f"{where}: give exactly one of email or webhook")
    channel = channels[0]
    address = str(item[channel]).strip()
    if channel == "email" and not _EMAIL.match(address):
        raise ValueError(f"{where}: {address!r} is not an email address")
    if channel == "webhook" and not address.startswith(("https://", "http://")):
        raise ValueError(f"{where}: a webhook is an http(s) URL")
    return Recipient(name=str(item.get("name") or channel).strip(), channel=channel, address=address)


def _target(value: object, level: str) -> Target:
    if isinstance(value, dict):
        in_hours = parse_duration(value.get("target"))
        out_of_hours = parse_duration(value["out_of_hours"]) if value.get("out_of_hours") else in_hours
        clock = str(value.get("clock") or CLOCK_WALL)
        if clock not in (CLOCK_WALL, CLOCK_OPENING_HOURS):
            raise ValueError(f"deadlines.targets.{level}.clock: use {CLOCK_WALL} or {CLOCK_OPENING_HOURS}")
        return Target(in_hours, out_of_hours, clock)
    duration = parse_duration(value)
    return Target(duration, duration)


def parse_policy(timezone: object, hours: object, deadlines: object) -> DeadlinePolicy:
    """Build the policy from the clinic file's ``timezone``, ``hours`` and ``deadlines`` (ValueError)."""
    zone = str(timezone or "UTC").strip()
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"timezone: unknown time zone {zone!r} (use a name like Europe/London)") from None
    if hours is not None and not isinstance(hours, dict):
        raise ValueError('hours: a mapping of day names to times like "09:00-18:00"')
    opening = OpeningHours(zone, parse_week(hours or {}))
    data: Dict[str, Any] = deadlines if isinstance(deadlines, dict) else {}
    if deadlines is not None and not isinstance(deadlines, dict):
        raise ValueError("deadlines: a mapping with targets, chain and on_call")
    unknown = set(data) - {"targets", "chain", "on_call"}
    if unknown:
        raise ValueError(f"deadlines: unknown key(s) {', '.join(sorted(unknown))}")
    targets = dict(DEFAULT_TARGETS)
    for level, value in (data.get("targets") or {}).items():
        if level not in DEFAULT_TARGETS:
            raise ValueError(f"deadlines.targets: unknown level {level!r}")
        targets[level] = _target(value, level)
    lists = {}
    for key in ("chain", "on_call"):
        items = data.get(key) or []
        if not isinstance(items, list):
            raise ValueError(f"deadlines.{key}: a list of recipients")
        lists[key] = tuple(_recipient(item, f"deadlines.{key}[{i}]") for i, item in enumerate(items))
    return DeadlinePolicy(opening, targets, lists["chain"], lists["on_call"])


@lru_cache(maxsize=1)
def _words() -> Dict[str, str]:
    with MESSAGES_FILE.open(encoding="utf-8") as handle:
        return dict(yaml.safe_load(handle)["durations"])


def describe(duration: timedelta) -> str:
    """Say a target the way patients read it ("30 minutes", "4 hours"), words from deadline_messages.yml."""
    seconds = int(duration.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if seconds >= size and seconds % size == 0:
            amount = seconds // size
            return _words()[unit if amount == 1 else f"{unit}s"].format(n=amount)
    return _words()["seconds"].format(n=seconds)


def target_values(policy: DeadlinePolicy, moment: Optional[datetime] = None) -> Dict[str, str]:
    """The patient-facing targets as clinic template values (``response_target_<level>``).

    At ``moment`` (an aware datetime) each is the target the deadline worker will count for a
    flag raised then (:meth:`Target.due`): out of opening hours a wall-clock target runs on its
    out-of-hours value. Without a moment, the in-hours targets.
    """
    clinic_open = moment is None or policy.hours.is_open(moment)
    return {
        f"response_target_{level}": describe(target.amount(clinic_open))
        for level, target in policy.targets.items()
    }
