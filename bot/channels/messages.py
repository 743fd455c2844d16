"""Load the channel connectors' own sentences from ``messages.yml`` and fill in clinic values."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml

from bot.settings import PROJECT_ROOT

logger = logging.getLogger(__name__)

MESSAGES_FILE = Path(__file__).with_name("messages.yml")
# The clinic fallbacks ("your clinic"...) are the initial values of the domain's clinic slots.
DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
WIDGET_LABELS = (
    "title",
    "subtitle",
    "open_button",
    "close_button",
    "input_label",
    "input_placeholder",
    "send_button",
    "you",
    "assistant",
    "typing",
    "reconnecting",
    "connected",
    "failed",
    "rejected",
    "too_long",
    "session_renewed",
    "suggestions_label",
    "urgent_banner",
    "emergency_banner",
    "call_clinic",
    "call_emergency",
)
CLINIC_KEYS = ("clinic_name", "clinic_phone", "emergency_number")


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class ChannelTexts:
    """What the connectors say about media, what staff see on media flags, and the widget labels."""

    media_reply: str
    too_long_reply: str
    media_flag_reason: str
    media_flag_message: str
    media_names: Mapping[str, str]
    telegram_start_text: str
    fallback_values: Mapping[str, str]
    widget: Mapping[str, Any]

    def media_name(self, media: str) -> str:
        """Return how to call a kind of media in a sentence ("a photo")."""
        return self.media_names.get(media) or self.media_names["other"]

    def clinic_values(self, loaded: Optional[Mapping[str, str]]) -> Dict[str, str]:
        """Return the clinic placeholders, falling back to ``fallback_values`` for missing ones."""
        values = dict(self.fallback_values)
        values.update({key: value for key, value in (loaded or {}).items() if key in CLINIC_KEYS and value})
        return values

    def render(self, template: str, **values: str) -> str:
        """Fill ``template``; unknown placeholders stay visible rather than raising."""
        return template.format_map(_Blank(values))


def _require_text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{where}: {key} must be non-empty text")
    return value.strip()


def domain_fallback_values(domain_file: Path = DOMAIN_FILE) -> Dict[str, str]:
    """Return the clinic slots' initial values in the domain: what replies say without a clinic."""
    slots = (yaml.safe_load(domain_file.read_text(encoding="utf-8")) or {}).get("slots") or {}
    values = {key: str((slots.get(key) or {}).get("initial_value") or "").strip() for key in CLINIC_KEYS}
    if not all(values.values()):
        raise ValueError(f"{domain_file.name}: the slots {', '.join(CLINIC_KEYS)} need an initial_value")
    return values


def parse_channel_texts(
    data: Any, where: str = "messages.yml", fallback: Optional[Mapping[str, str]] = None
) -> ChannelTexts:
    """Validate the loaded YAML and build :class:`ChannelTexts` (``fallback``: default from the domain)."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: expected a mapping")
    names = data.get("media_names")
    if not isinstance(names, dict) or "other" not in names:
        raise ValueError(f"{where}: media_names must be a mapping with an 'other' entry")
    fallback = domain_fallback_values() if fallback is None else fallback
    widget = data.get("widget")
    if not isinstance(widget, dict):
        raise ValueError(f"{where}: widget must be a mapping")
    for label in WIDGET_LABELS:
        _require_text(widget, label, f"{where} widget")
    suggestions = widget.get("suggestions", [])
    if not isinstance(suggestions, list) or not all(isinstance(s, str) and s.strip() for s in suggestions):
        raise ValueError(f"{where}: widget.suggestions must be a list of texts")
    return ChannelTexts(
        media_reply=" ".join(_require_text(data, "media_reply", where).split()),
        too_long_reply=" ".join(_require_text(data, "too_long_reply", where).split()),
        media_flag_reason=_require_text(data, "media_flag_reason", where),
        media_flag_message=_require_text(data, "media_flag_message", where),
        media_names={str(k): str(v) for k, v in names.items()},
        telegram_start_text=_require_text(data, "telegram_start_text", where),
        fallback_values={str(k): str(v) for k, v in fallback.items()},
        widget=dict(widget),
    )


@lru_cache(maxsize=4)
def load_channel_texts(path: Path = MESSAGES_FILE) -> ChannelTexts:
    """Read and validate the channel sentences (cached per path)."""
    return parse_channel_texts(yaml.safe_load(path.read_text(encoding="utf-8")), where=path.name)


def clinic_template_values() -> Optional[Dict[str, str]]:
    """Return the configured clinic's placeholder values, or None when they cannot be loaded."""
    try:
        from bot.knowledge import get_clinic_settings

        return get_clinic_settings().as_template_values()
    except Exception:  # a reply about media must still go out with a broken clinic file
        logger.exception("Clinic settings could not be loaded; channel messages use their fallback values.")
        return None
