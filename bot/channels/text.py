"""Make patient text safe to hand to Rasa, and fit replies into a provider's size limit."""

from __future__ import annotations

import re
from typing import List, Optional

# Rasa reads a message starting with "/" as an intent command ("/report_fever{...}"), which
# would let a patient choose the intent and entities. Rasa strips whitespace first, so we do too.
_COMMAND_PREFIX = re.compile(r"^[\s/]+")


def neutralise(text: Optional[str]) -> str:
    """Return ``text`` as plain words: leading slashes removed, surrounding space trimmed."""
    if not text:
        return ""
    return _COMMAND_PREFIX.sub("", text).strip()


def split_for_provider(text: str, limit: int) -> List[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, preferring paragraph breaks."""
    text = text.strip()
    pieces: List[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit)
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def tel_link(number: str) -> Optional[str]:
    """Return a ``tel:`` link for a phone number as people write it, or None if it has no digits."""
    digits = re.sub(r"\D", "", number)
    if len(digits) < 2:
        return None
    return f"tel:{'+' if number.strip().startswith('+') else ''}{digits}"
