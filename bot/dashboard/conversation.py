"""Putting a transcript and its flags together for the conversation page."""

from __future__ import annotations

from datetime import timedelta
from typing import Dict, List, Optional, Sequence

from bot.storage.models import Flag
from bot.storage.tracker import Transcript, Turn

# The flag is written while the action runs, a moment after Rasa logged the user's message.
CLOCK_SLACK = timedelta(minutes=1)


def triggering_turn(transcript: Transcript, flag: Flag) -> Optional[Turn]:
    """Return the user message that last raised ``flag`` (the newest match not after the flag)."""
    matches = [
        turn for turn in transcript.turns if turn.kind == "user" and turn.text.strip() == flag.message.strip()
    ]
    in_time = [turn for turn in matches if turn.at is None or turn.at <= flag.updated_at + CLOCK_SLACK]
    candidates = in_time or matches
    return candidates[-1] if candidates else None


def flags_by_turn(transcript: Transcript, flags: Sequence[Flag]) -> Dict[int, List[Flag]]:
    """Map each highlighted turn's event id to the flags it raised."""
    highlighted: Dict[int, List[Flag]] = {}
    for flag in flags:
        turn = triggering_turn(transcript, flag)
        if turn is not None:
            highlighted.setdefault(turn.event_id, []).append(flag)
    return highlighted
