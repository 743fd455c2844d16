"""Make patient text safe to hand to Rasa, and fit replies into a provider's size limit."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import List, Optional, Tuple

# Rasa reads a message starting with "/" as an intent command ("/report_fever{...}"), which
# would let a patient choose the intent and entities. Rasa strips whitespace first, so we do too.
_COMMAND_PREFIX = re.compile(r"^[\s/]+")


# Characters no database or JSON encoder downstream should ever see: NUL and other C0 controls
# except tab and newlines (PostgreSQL refuses NUL in text).
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def neutralise(text: Optional[str]) -> str:
    """Return ``text`` as plain words: leading slashes removed, surrounding space trimmed.

    Unpaired surrogates (valid in JSON, not in UTF-8) become U+FFFD and control characters go,
    so a hostile message is still read and triaged instead of failing a write later.
    """
    if not text or not isinstance(text, str):
        return ""
    text = _SURROGATE.sub("\ufffd", text)
    return _COMMAND_PREFIX.sub("", _CONTROL.sub("", text)).strip()


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


# What the language model is given at most. Rasa's featurisers grow with the message (30,000
# characters took 12 s and 3 GB), and no patient question needs more.
MAX_NLU_TEXT = 4096
_SENTENCE_END = re.compile(r"[.!?\n]")
_CONTEXT = 200


@dataclass(frozen=True)
class BoundedText:
    """The text Rasa gets, and whether the patient's message had to be shortened."""

    text: str
    truncated: bool


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding ``text[start:end]``, at most ``_CONTEXT`` characters either side."""
    low = max(0, start - _CONTEXT)
    before = [m.end() for m in _SENTENCE_END.finditer(text, low, start)]
    left = before[-1] if before else low
    after = _SENTENCE_END.search(text, end, min(len(text), end + _CONTEXT))
    right = after.end() if after else min(len(text), end + _CONTEXT)
    return text[left:right].strip()


_CHUNK = 2_000  # triage reads long text in overlapping pieces: linear time whatever the length
_OVERLAP = 200


def _chunks(text: str) -> List[Tuple[int, str]]:
    """Split ``text`` into overlapping pieces (offset, piece) cut at whitespace where possible."""
    pieces: List[Tuple[int, str]] = []
    start = 0
    while start < len(text):
        end = min(len(text), start + _CHUNK)
        if end < len(text):
            space = text.rfind(" ", start + _CHUNK // 2, end)
            end = space if space > start else end
        pieces.append((start, text[start:end]))
        if end >= len(text):
            break
        start = max(start + 1, end - _OVERLAP)
    return pieces


def bound_for_nlu(text: str, limit: int = MAX_NLU_TEXT) -> BoundedText:
    """Shorten an over-long message for Rasa without hiding a red flag from the safety layer.

    The triage engine reads the whole message here, in overlapping pieces so the cost stays
    linear (one 60,000-character message must not stall the server); the sentences holding
    what it found go first, most serious first, then the start of the message, cut to
    ``limit``. The safety policy then re-reads those sentences in Rasa and escalates as it
    would have on the whole text.
    """
    if len(text) <= limit:
        return BoundedText(text, False)
    from bot.triage import assess

    found: List[Tuple[int, int, int]] = []  # (-rank, start, end) in the whole text
    for offset, piece in _chunks(text):
        for finding in assess(piece).findings:
            found.append((-finding.level.rank, offset + finding.start, offset + finding.end))
    sentences: List[str] = []
    seen = set()
    size = 0
    for _, start, end in sorted(found):
        sentence = _sentence_around(text, start, end)
        if sentence and sentence not in seen:
            seen.add(sentence)
            sentences.append(sentence if sentence[-1:] in ".!?" else sentence + ".")
            size += len(sentence) + 2
            if size >= limit:
                break
    summary = " ".join(sentences)
    combined = f"{summary} {text[: limit]}" if summary else text
    return BoundedText(combined[:limit].rstrip(), True)


_BAD_ID_CHARS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
MAX_SENDER_ID = 200  # a WhatsApp BSUID alone can be 131 characters


def valid_sender_id(value: object) -> bool:
    """Tell whether a provider's sender id can safely name a conversation.

    Control characters, unpaired surrogates (which made Rasa's SQL tracker store exit)
    and over-long ids are refused.
    """
    return (
        isinstance(value, str)
        and 0 < len(value) <= MAX_SENDER_ID
        and value.strip() == value
        and not _BAD_ID_CHARS.search(value)
    )


def conversation_id(channel: str, sender_id: str) -> str:
    """The conversation id for a sender on a channel: ``whatsapp:<id>``, so channels never collide."""
    return f"{channel}:{sender_id}"
