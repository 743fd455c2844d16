"""The one triage verdict of a turn: judged once, by the safety policy, and stored on the turn.

Before, triage ran twice per message with different inputs (an NLU annotator without the
days since the treatment, the policy with them), and the flag writer read the wrong one: a
routine escalation from a remembered day ("treated 20 days ago" ... "still peeling") stored
no flag. Now :func:`judge_turn` is the only judge: it reads the treatment date (updating it
when the message dates the treatment), derives the days for the message's own date, runs
the triage engine once with them, and returns the verdict that the policy stores in the
``triage_verdict`` slot, keyed by the turn, for the actions and the flag writer to read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Dict, Mapping, Optional, Sequence

from bot.treatment_date import MessageContext, days_since_treatment, treatment_date_in
from bot.triage import Level, TriageResult, assess

TURN_KEY = "turn_key"
DAYS_SINCE_PROCEDURE_KEY = "days_since_procedure"
PROCEDURE_KEY = "procedure"
# The clarification rule (``clarify.*``) when the turn asks the safety questions, else None.
CLARIFY_KEY = "clarify"
# The knowledge intent to answer after the escalation of a mixed message, else None.
ALSO_ANSWER_KEY = "also_answer"
#: How sure the classifier must be of a question it ranked below the red flag to answer it too.
QUESTION_FLOOR = 0.15
#: Ordinary topics answered after an urgent or routine escalation when the patient reported
#: them next to the red flag ("flaking everywhere and it stings badly"). Peeling and spots never
#: contradict "see a doctor today"; a "redness is normal" answer next to an infection could.
TOPICS_AFTER_ESCALATION: Mapping[str, str] = {
    "peeling": "ask_peeling",
    "pimples": "ask_pimples",
    "breakout": "ask_pimples",
}
QUESTION_PREFIX = "ask_"


def turn_key(message_id: Optional[str], timestamp: Optional[float]) -> str:
    """Name one patient message: its channel message id, else its event timestamp.

    The same key is computed in the Rasa process (policy) and on the action server, so
    both can refer to "the flag owed for this message" without talking to each other.
    """
    if message_id:
        return f"id:{message_id}"[:128]
    return f"ts:{float(timestamp or 0.0)!r}"


@dataclass(frozen=True)
class TurnFacts:
    """Everything the judge reads about one patient message."""

    text: str
    turn_key: str
    today: date
    intent: Optional[str] = None
    asked_for_date: bool = False
    treatment_date: Optional[date] = None
    procedure: Optional[str] = None


@dataclass(frozen=True)
class Judgement:
    """The verdict of one turn, with the treatment date and days it was judged with."""

    treatment_date: Optional[date]
    days_since: Optional[int]
    result: TriageResult
    verdict: Dict[str, Any]

    @property
    def level(self) -> Level:
        return self.result.level


def judge_turn(facts: TurnFacts) -> Judgement:
    """Judge one message: treatment date, days since it, and the triage verdict with them."""
    treatment = facts.treatment_date
    days = days_since_treatment(treatment, facts.today) if treatment else None
    result = assess(facts.text, days_since=days, procedure=facts.procedure)
    spans = [(finding.start, finding.end) for finding in [*result.findings, *result.negated]]
    context = MessageContext(facts.intent, facts.asked_for_date, spans)
    mentioned = treatment_date_in(facts.text, facts.today, context)
    if mentioned is not None and mentioned != treatment:
        treatment = mentioned
        days = days_since_treatment(mentioned, facts.today)
        result = assess(facts.text, days_since=days, procedure=facts.procedure)
    verdict = {
        **result.to_dict(),
        TURN_KEY: facts.turn_key,
        DAYS_SINCE_PROCEDURE_KEY: days,
        PROCEDURE_KEY: facts.procedure,
    }
    return Judgement(treatment, days, result, verdict)


def verdict_for(slot_value: Any, key: str) -> Optional[Mapping[str, Any]]:
    """Return the stored verdict if it belongs to the turn ``key``, else ``None``."""
    if isinstance(slot_value, Mapping) and slot_value.get(TURN_KEY) == key:
        return slot_value
    return None


def verdict_level(verdict: Mapping[str, Any]) -> Level:
    """Return the level of a stored verdict (``none`` when unreadable)."""
    return Level.parse(str(verdict.get("level") or "none"))


def also_answer(
    result: TriageResult, intent: Optional[str], ranking: Sequence[Mapping[str, Any]], text: str
) -> Optional[str]:
    """Return what to answer after an escalation besides the red flag, for a mixed message.

    When the classifier took a mixed message for its red flag ("when can I wear makeup? also my
    lips are swelling"), the patient's question would go unanswered after the escalation. Then
    the question the classifier ranked next is answered (if it asked one, "?" in the text, and
    the classifier gave it at least ``QUESTION_FLOOR``), else, below emergency, the ordinary
    topic reported next to the red flag (``TOPICS_AFTER_ESCALATION``). None when the top intent
    is itself a question (it is answered anyway) or nothing was escalated.
    """
    if result.level < Level.ROUTINE or (intent or "").startswith(QUESTION_PREFIX):
        return None
    if "?" in text:
        for item in ranking:
            name = str(item.get("name") or "")
            confidence = item.get("confidence")
            if (
                name.startswith(QUESTION_PREFIX)
                and isinstance(confidence, (int, float))
                and confidence >= QUESTION_FLOOR
            ):
                return name
    if result.level >= Level.EMERGENCY:
        return None
    for topic in sorted(result.topics):
        if topic in TOPICS_AFTER_ESCALATION:
            return TOPICS_AFTER_ESCALATION[topic]
    return None
