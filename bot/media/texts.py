"""The photo sentences (``messages.yml`` beside this module), filled with the clinic's values."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

import yaml

from bot.channels.messages import clinic_template_values, load_channel_texts

MESSAGES_FILE = Path(__file__).with_name("messages.yml")
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
WIDGET_LABELS = ("attach_button", "consent_accept", "consent_cancel", "sending_photo", "photo_alt")


@dataclass(frozen=True)
class PhotoTexts:
    """The photo sentences as written, and the widget's upload labels."""

    sentences: Mapping[str, str]
    widget: Mapping[str, str]

    def say(self, name: str, clinic: Optional[Mapping[str, str]] = None) -> str:
        """Sentence ``name`` with the clinic's values (fallbacks from the domain when unloadable)."""
        loaded = clinic_template_values() if clinic is None else clinic
        values: Dict[str, str] = load_channel_texts().clinic_values(loaded)
        values["response_time"] = (loaded or {}).get("response_time") or self.sentences[
            "response_time_fallback"
        ]
        return load_channel_texts().render(self.sentences[name], **values)


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
