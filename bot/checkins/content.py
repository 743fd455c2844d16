"""The check-in texts, read from ``knowledge/checkins.yml`` (content, never Python strings)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, NamedTuple, Tuple

import yaml

CONTENT_FILE = "checkins.yml"


class ContentError(ValueError):
    """The check-in file is missing something the worker needs."""


class DayText(NamedTuple):
    """What is normal from ``from_day`` on, what the patient should tell us about, and the sources."""

    from_day: int
    normal: str
    watch_for: str
    sources: Tuple[str, ...]


@dataclass(frozen=True)
class CheckinText:
    """One rendered check-in: the full text, its parts (for template variables), quick replies."""

    text: str
    parts: Mapping[str, str]
    quick_replies: Tuple[str, ...]


@dataclass(frozen=True)
class CheckinContent:
    """Everything ``checkins.yml`` holds."""

    consent_version: str
    staff_consent_wording: str
    quick_replies: Tuple[str, ...]
    greeting: str
    closing: str
    days: Tuple[DayText, ...]
    email_subject: str = ""
    email_closing: str = ""

    def for_day(self, day: int) -> DayText:
        """The entry for ``day``: the one with the highest ``from_day`` not after it."""
        chosen = [entry for entry in self.days if entry.from_day <= day]
        return max(chosen, key=lambda entry: entry.from_day) if chosen else self.days[0]

    def render(self, day: int, clinic: Mapping[str, str]) -> CheckinText:
        """Fill in the day's message with the clinic's values."""
        entry = self.for_day(day)
        values: Dict[str, Any] = {**clinic, "day": day}
        parts = {
            "greeting": self.greeting.format(**values),
            "normal": entry.normal.format(**values),
            "watch_for": entry.watch_for.format(**values),
            "closing": self.closing.format(**values),
        }
        parts["text"] = "\n\n".join(parts[name] for name in ("greeting", "normal", "watch_for", "closing"))
        parts["day"] = str(day)
        return CheckinText(parts["text"], parts, self.quick_replies)

    def render_email(self, day: int, clinic: Mapping[str, str]) -> Tuple[str, str]:
        """The day's check-in as an email (subject, text): the chat's closing becomes the email's."""
        parts = self.render(day, clinic).parts
        closing = self.email_closing.format(**clinic, day=day)
        text = "\n\n".join([parts["greeting"], parts["normal"], parts["watch_for"], closing])
        return self.email_subject.format(**clinic, day=day), text


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ContentError(f"{where}: '{key}' must be non-empty text")
    return " ".join(value.split())


def load_content(knowledge_dir: Path) -> CheckinContent:
    """Read and check ``knowledge_dir/checkins.yml``."""
    path = knowledge_dir / CONTENT_FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ContentError(f"{path.name}: must be a mapping")
    replies = data.get("quick_replies")
    if not isinstance(replies, list) or not replies or not all(isinstance(r, str) and r for r in replies):
        raise ContentError(f"{path.name}: 'quick_replies' must be a list of texts")
    days: List[DayText] = []
    for index, raw in enumerate(data.get("days") or []):
        where = f"{path.name}: days[{index}]"
        if not isinstance(raw, dict) or not isinstance(raw.get("from_day"), int):
            raise ContentError(f"{where}: needs a whole-number 'from_day'")
        sources = raw.get("sources")
        if not isinstance(sources, list) or not sources:
            raise ContentError(f"{where}: must name its 'sources'")
        days.append(
            DayText(
                raw["from_day"], _text(raw, "normal", where), _text(raw, "watch_for", where), tuple(sources)
            )
        )
    if not days:
        raise ContentError(f"{path.name}: 'days' must hold at least one entry")
    email = data.get("email")
    if not isinstance(email, dict):
        raise ContentError(f"{path.name}: 'email' must hold the email 'subject' and 'closing'")
    return CheckinContent(
        consent_version=_text(data, "consent_version", path.name),
        staff_consent_wording=_text(data, "staff_consent_wording", path.name),
        quick_replies=tuple(replies),
        greeting=_text(data, "greeting", path.name),
        closing=_text(data, "closing", path.name),
        days=tuple(sorted(days, key=lambda entry: entry.from_day)),
        email_subject=_text(email, "subject", f"{path.name}: email"),
        email_closing=_text(email, "closing", f"{path.name}: email"),
    )
