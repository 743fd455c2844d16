"""The deterministic safety dialogue: which action follows a patient's message, whatever NLU said.

Kept free of Rasa types so it can be tested exhaustively as a plain function: the
Rasa policy (``bot.rasa_components.safety_policy``) only translates a tracker into a
:class:`TurnState` and the returned action name into a prediction.

A turn goes: escalation reply (a domain response, so it needs no action server)
-> ``action_record_flag`` (records the flag, adds detail, answers the rest of the
message) -> ordinary rules -> epilogue (fallback flag, first-message disclaimer) -> listen.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from bot.names import (
    ACTION_FLAG_FALLBACK,
    ACTION_LISTEN,
    ACTION_RECORD_FLAG,
    UTTER_ASK_SAFETY_QUESTIONS,
    UTTER_DISCLAIMER,
    UTTER_ESCALATE_EMERGENCY,
    UTTER_ESCALATE_ROUTINE,
    UTTER_ESCALATE_URGENT,
)
from bot.triage import Level

ESCALATION_RESPONSES = {
    Level.EMERGENCY: UTTER_ESCALATE_EMERGENCY,
    Level.URGENT: UTTER_ESCALATE_URGENT,
    Level.ROUTINE: UTTER_ESCALATE_ROUTINE,
}
FALLBACK_INTENT = "nlu_fallback"


@dataclass(frozen=True)
class TurnState:
    """What the safety layer needs to know about the current turn."""

    level: Level
    actions_this_turn: Sequence[str]
    intent: Optional[str]
    previous_intent: Optional[str]
    disclaimer_shown: bool
    clarify: bool = False


def next_action(turn: TurnState) -> Optional[str]:
    """Return the action the safety layer insists on, or ``None`` to let the rules decide."""
    acted = list(turn.actions_this_turn)
    if not acted:
        escalation = ESCALATION_RESPONSES.get(turn.level)
        if escalation is None and turn.clarify:
            return UTTER_ASK_SAFETY_QUESTIONS
        return escalation
    if acted[0] in ESCALATION_RESPONSES.values() and ACTION_RECORD_FLAG not in acted:
        return ACTION_RECORD_FLAG
    return _epilogue(turn, acted)


def _epilogue(turn: TurnState, acted: Sequence[str]) -> str:
    repeated_fallback = turn.intent == FALLBACK_INTENT and turn.previous_intent == FALLBACK_INTENT
    if repeated_fallback and ACTION_FLAG_FALLBACK not in acted:
        return ACTION_FLAG_FALLBACK
    if not turn.disclaimer_shown and UTTER_DISCLAIMER not in acted:
        return UTTER_DISCLAIMER
    return ACTION_LISTEN
