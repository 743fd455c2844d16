"""Decide when the assistant asks the safety questions instead of answering as if all were normal.

Why: a vocabulary can always meet a wording it has not seen, so silence from the rules is not
proof of safety. When a message reports something the rules cannot place ("something is
wrong", "it looks weird", "I'm really worried"), or when the learned screen
(:mod:`bot.triage.screen`) is confident of a red flag the rules did not find, the assistant asks
(response ``utter_ask_safety_questions``: pain? fever or chills? swelling of lips, eyes or throat
or trouble breathing? pus or spreading redness?) and triages the answer. A red flag the rules
found is escalated as before: the rules win. A red flag told as someone else's story next to a
question about the patient's own risk ("my friend's lips swelled, could that happen to me?",
status ``anecdote``) is asked about too: neither escalated nor ignored.

The questions are never asked twice in a row: a patient who has just been asked and answers
with something still unclear gets the ordinary answer, not the same question again.

Pure and table-tested: the safety policy, the Rasa red-flag detector and the evaluation call the
same :func:`decide`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional, Tuple

import yaml

from bot.triage.levels import Level
from bot.triage.result import ANECDOTE, TriageResult
from bot.triage.screen import CONFIDENT

CLARIFY_FILE = Path(__file__).with_name("clarify.yml")
RULE_PREFIX = "clarify."
DISAGREE_RULE = "clarify.detectors_disagree"
SECOND_HAND_RULE = "clarify.second_hand"


@dataclass(frozen=True)
class Clarification:
    """Whether to ask the safety questions, and the rule (``clarify.*``) that decided it."""

    ask: bool = False
    rule: str = ""


NO_CLARIFICATION = Clarification()


@dataclass(frozen=True)
class ClarifyCues:
    """The compiled cue groups and the not-a-report markers of ``clarify.yml``."""

    cues: Tuple[Tuple[str, Tuple[re.Pattern[str], ...]], ...]
    not_a_report: Tuple[re.Pattern[str], ...]

    def cue_rule(self, text: str) -> str:
        """Return ``clarify.<group>`` for the first cue group matching ``text``, or ""."""
        lowered = text.lower().replace("’", "'")
        if any(marker.search(lowered) for marker in self.not_a_report):
            return ""
        for group, patterns in self.cues:
            if any(pattern.search(lowered) for pattern in patterns):
                return RULE_PREFIX + group
        return ""


def load_cues(path: Optional[Path] = None) -> ClarifyCues:
    """Read and compile a cue file (the packaged one by default); a bad regex fails loudly."""
    with open(path or CLARIFY_FILE, encoding="utf-8") as handle:
        raw: Dict[str, object] = yaml.safe_load(handle) or {}
    groups = raw.get("cues") or {}
    if not isinstance(groups, dict):
        raise ValueError("clarify.yml: 'cues' must map group names to lists of patterns")
    cues = tuple(
        (str(name), tuple(re.compile(str(pattern)) for pattern in patterns))
        for name, patterns in groups.items()
    )
    raw_markers = raw.get("not_a_report") or []
    if not isinstance(raw_markers, list):
        raise ValueError("clarify.yml: 'not_a_report' must be a list of patterns")
    markers = tuple(re.compile(str(pattern)) for pattern in raw_markers)
    return ClarifyCues(cues, markers)


@lru_cache(maxsize=1)
def default_cues() -> ClarifyCues:
    """Return the packaged cues, compiled once."""
    return load_cues()


def decide(
    text: str,
    result: TriageResult,
    screen_probability: Optional[float] = None,
    threshold: float = CONFIDENT,
    cues: Optional[ClarifyCues] = None,
    asked_last_turn: bool = False,
) -> Clarification:
    """Return whether to ask the safety questions about ``text``.

    Args:
        text: the patient's message.
        result: the rules' verdict on it (``bot.triage.assess``).
        screen_probability: the learned screen's red-flag probability, or None when it is absent.
        threshold: the probability from which the screen counts as confident.
        cues: the wording cues (the packaged ``clarify.yml`` by default).
        asked_last_turn: the assistant's previous reply asked these very questions.
    """
    if result.level >= Level.URGENT or asked_last_turn or not text or not text.strip():
        return NO_CLARIFICATION
    if any(finding.status == ANECDOTE and finding.level >= Level.URGENT for finding in result.negated):
        return Clarification(True, SECOND_HAND_RULE)
    if screen_probability is not None and screen_probability >= threshold:
        return Clarification(True, DISAGREE_RULE)
    rule = (cues or default_cues()).cue_rule(text)
    return Clarification(True, rule) if rule else NO_CLARIFICATION


def screen_probability(parse_data: Optional[Dict[str, object]]) -> Optional[float]:
    """Return the learned screen's probability stored in a message's parse data, if any."""
    screen = (parse_data or {}).get("redflag_screen")
    value = screen.get("probability") if isinstance(screen, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def decide_for_message(
    text: str,
    result: TriageResult,
    parse_data: Optional[Dict[str, object]],
    asked_last_turn: bool = False,
) -> Clarification:
    """Return :func:`decide` for a parsed message, with the screen's score from its parse data."""
    return decide(text, result, screen_probability(parse_data), asked_last_turn=asked_last_turn)
