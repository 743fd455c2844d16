"""The conversations the load generator plays: realistic multi-turn aftercare dialogues.

Each dialogue is what a patient writes over a few minutes after a microneedling session:
a greeting, the treatment date, knowledge questions, and in most of them a red flag (pain,
fever, an allergic reaction). The same dialogues go to both assistants; a red-flag turn
counts as escalated when a reply carries the escalation marker of the domain's responses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Tuple

GREETING = "greeting"
KNOWLEDGE = "knowledge"
RED_FLAG = "red_flag"
CHITCHAT = "chitchat"
KINDS = (GREETING, KNOWLEDGE, RED_FLAG, CHITCHAT)

# Every escalation response in domain.yml (utter_escalate_*) starts with this sign or names a check.
ESCALATION_MARKERS = ("⚠️", "book a check")


@dataclass(frozen=True)
class Turn:
    """One patient message and what kind of turn it is."""

    text: str
    kind: str


@dataclass(frozen=True)
class Dialogue:
    """A named sequence of patient messages, played in order in one conversation."""

    name: str
    turns: Tuple[Turn, ...]


def _d(name: str, *turns: Tuple[str, str]) -> Dialogue:
    return Dialogue(name, tuple(Turn(text, kind) for text, kind in turns))


DIALOGUES: Tuple[Dialogue, ...] = (
    _d(
        "peeling then fever",
        ("hi", GREETING),
        ("I had microneedling 2 days ago", KNOWLEDGE),
        ("my skin is peeling, can I peel it off?", KNOWLEDGE),
        ("when can I wear makeup again?", KNOWLEDGE),
        ("now I have a fever of 38.5 and it really hurts", RED_FLAG),
        ("thanks", CHITCHAT),
    ),
    _d(
        "pimples and sun",
        ("hello", GREETING),
        ("I broke out in pimples after microneedling, why?", KNOWLEDGE),
        ("can I go to the beach?", KNOWLEDGE),
        ("my face is a bit red and puffy", KNOWLEDGE),
        ("bye", CHITCHAT),
    ),
    _d(
        "allergic reaction",
        ("hey", GREETING),
        ("I did a dermapen treatment yesterday", KNOWLEDGE),
        ("my lips are swelling and I can't breathe properly", RED_FLAG),
        ("thank you", CHITCHAT),
    ),
    _d(
        "infection signs",
        ("hi there", GREETING),
        ("is it normal that my face is peeling?", KNOWLEDGE),
        ("there is yellow pus and the redness is spreading", RED_FLAG),
        ("are you a bot?", CHITCHAT),
        ("thanks", CHITCHAT),
    ),
    _d(
        "routine questions",
        ("hello", GREETING),
        ("when can I exercise after microneedling?", KNOWLEDGE),
        ("can I use retinol tonight?", KNOWLEDGE),
        ("my skin feels tight and dry", KNOWLEDGE),
        ("it hurts a lot when I touch it", RED_FLAG),
        ("ok thanks", CHITCHAT),
    ),
)

# One long conversation for the "1st vs 200th message" figure: questions and chit-chat, no red flag.
LONG_CONVERSATION_TURNS: Tuple[Turn, ...] = (
    Turn("is it normal that my face is peeling?", KNOWLEDGE),
    Turn("when can I wear makeup again?", KNOWLEDGE),
    Turn("thanks", CHITCHAT),
    Turn("can I go to the beach?", KNOWLEDGE),
)


def long_conversation(length: int) -> Iterator[Turn]:
    """The turns of one conversation ``length`` messages long."""
    for index in range(length):
        yield LONG_CONVERSATION_TURNS[index % len(LONG_CONVERSATION_TURNS)]


def is_escalation(texts: Tuple[str, ...]) -> bool:
    """Tell whether a turn's replies include an escalation response."""
    return any(marker in text for text in texts for marker in ESCALATION_MARKERS)
