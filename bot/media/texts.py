"""The photo sentences (``messages.yml`` beside this module), filled with the clinic's values."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml

from bot.settings import PROJECT_ROOT

MESSAGES_FILE = Path(__file__).with_name("messages.yml")
# Without clinic settings, sentences use the clinic slots' initial values (their one home).
DOMAIN_FILE = PROJECT_ROOT / "domain.yml"
CLINIC_SLOTS = ("clinic_name", "clinic_phone", "emergency_number")
# The clinic file's optional ``photo_consent``: replaces the shipped consent sentence.
CLINIC_CONSENT_KEY = "photo_consent"
SENTENCES = (
    "received_reply",
    "consent",
    "too_large",
    "not_an_image",
    "consent_required",
    "flag_reason",
    "flag_message",
    "photo_request",
    "response_time_fallback",
)
logger = logging.getLogger(__name__)
WIDGET_LABELS = ("attach_button", "consent_accept", "consent_cancel", "photo_alt")


@dataclass(frozen=True)
class PhotoTexts:
    """The photo sentences as written, and the widget's upload labels."""

    sentences: Mapping[str, str]
    widget: Mapping[str, str]

    def say(self, name: str, clinic: Optional[Mapping[str, str]] = None) -> str:
        """Sentence ``name`` with the clinic's values (fallbacks from the domain when unloadable)."""
        loaded = clinic_values() if clinic is None else clinic
        values: Dict[str, str] = {
            **domain_fallbacks(),
            "response_time": self.sentences["response_time_fallback"],
        }
        values.update({key: value for key, value in loaded.items() if value})
        sentence = self.sentences[name]
        if name == "consent" and values.get(CLINIC_CONSENT_KEY):
            sentence = values[CLINIC_CONSENT_KEY]  # the clinic's own wording (clinic.yml)
        return sentence.format_map(_Blank(values))


class _Blank(dict):
    """Unknown placeholders stay visible rather than raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def clinic_values() -> Dict[str, str]:
    """The configured clinic's placeholder values (and its own photo consent wording, if any)."""
    try:
        from bot.knowledge import get_clinic_settings

        clinic = get_clinic_settings()
        return {**clinic.as_template_values(), CLINIC_CONSENT_KEY: clinic.photo_consent}
    except Exception:  # a photo must still be acknowledged with a broken clinic file
        logger.exception("Clinic settings could not be loaded; photo messages use their fallback values.")
        return {}


@lru_cache(maxsize=1)
def domain_fallbacks() -> Dict[str, str]:
    """The clinic slots' initial values in the domain."""
    slots = (yaml.safe_load(DOMAIN_FILE.read_text(encoding="utf-8")) or {}).get("slots") or {}
    return {key: str((slots.get(key) or {}).get("initial_value") or "") for key in CLINIC_SLOTS}


def parse_photo_texts(data: Any, where: str = "messages.yml") -> PhotoTexts:
    """Validate the loaded YAML: every sentence and label present as non-empty text."""
    if not isinstance(data, dict) or not isinstance(data.get("widget"), dict):
        raise ValueError(f"{where}: expected a mapping with a widget mapping")
    missing = [key for key in SENTENCES if not str(data.get(key) or "").strip()]
    missing += [f"widget.{key}" for key in WIDGET_LABELS if not str(data["widget"].get(key) or "").strip()]
    if missing:
        raise ValueError(f"{where}: missing {', '.join(missing)}")
    return PhotoTexts(
        sentences={key: " ".join(str(data[key]).split()) for key in SENTENCES},
        widget={key: str(data["widget"][key]) for key in WIDGET_LABELS},
    )


@lru_cache(maxsize=2)
def load_photo_texts(path: Path = MESSAGES_FILE) -> PhotoTexts:
    """Read and validate the photo sentences (cached)."""
    return parse_photo_texts(yaml.safe_load(path.read_text(encoding="utf-8")), where=path.name)
