"""Decide what the assistant says for a question, a flag, a hand-off or a detail.

The custom actions are thin adapters: they read the tracker, call one function here
and dispatch the returned :class:`Reply` objects by response name. Every sentence lives
in ``domain.yml`` (responses) or ``knowledge/`` (answers); this module only chooses.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from bot.knowledge import ClinicSettings, KnowledgeBase
from bot.names import (
    ENTRY_ID_KEY,
    SOURCE_FILES_KEY,
    UTTER_ASK_DAYS_SINCE,
    UTTER_DETAILS_NOTED,
    UTTER_FALLBACK_FLAGGED,
    UTTER_FLAG_DETAIL,
    UTTER_FLAG_RECORDED,
    UTTER_HANDOFF,
    UTTER_KB_ANSWER,
    UTTER_NO_ANSWER,
    UTTER_OFFER_MORE,
    UTTER_PROCEDURE_NOTED,
    UTTER_SYMPTOM_NOT_REPORTED,
)
from bot.triage import Level

logger = logging.getLogger(__name__)

RED_FLAG_INTENTS = frozenset({"report_pain", "report_fever", "report_infection", "report_allergic_reaction"})
# The questions answered from knowledge are the intents the knowledge base has entries for
# (``KnowledgeBase.intents()``), so a new topic file needs no code change here.

# Self-care topics found by the triage engine, and the question they answer. Used when the
# classifier picked a red-flag intent for a message whose red flag was negated
# ("no fever, just peeling"): we answer about the peeling instead of frightening anyone.
TOPIC_INTENTS: Mapping[str, str] = {
    "peeling": "ask_peeling",
    "pimples": "ask_pimples",
    "breakout": "ask_pimples",
    "redness": "report_redness_swelling",
    "swelling": "report_redness_swelling",
    "itching": "report_redness_swelling",
    "dryness": "report_redness_swelling",
    "tightness": "report_redness_swelling",
    "bruising": "report_redness_swelling",
    "pigmentation": "report_redness_swelling",
}


@dataclass(frozen=True)
class Reply:
    """One response to send: a domain response name and the values it is filled with."""

    response: str
    values: Dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """What an action knows about the patient's latest message.

    ``triage`` is the safety policy's verdict for this very message (``bot.verdict``), so
    the answer and the flag follow the escalation the patient was sent; ``turn_key`` names
    the message, so each kind of flag is written once per message however often it is tried.
    """

    conversation_id: str
    channel: str
    text: str
    intent: Optional[str]
    triage: Mapping[str, Any]
    days_since: Optional[int] = None
    procedure: Optional[str] = None
    last_topic: Optional[str] = None
    turn_key: Optional[str] = None


@dataclass(frozen=True)
class Outcome:
    """Replies to send plus the topic answered (remembered for follow-up details)."""

    replies: List[Reply]
    topic: Optional[str] = None


def _triage_level(turn: Turn) -> Level:
    return Level.parse(str(turn.triage.get("level", "none")))


def _topic_intent(turn: Turn) -> Optional[str]:
    for topic in turn.triage.get("topics", []) or []:
        if topic in TOPIC_INTENTS:
            return TOPIC_INTENTS[topic]
    return None


def answer_from_knowledge(
    kb: KnowledgeBase, clinic: ClinicSettings, intent: str, turn: Turn, offer_more: bool = True
) -> Outcome:
    """Answer ``intent`` from the knowledge base, or say plainly that we have no checked answer."""
    answer = kb.answer(intent, days_since=turn.days_since, procedure=turn.procedure, clinic=clinic)
    if not answer.found:
        return Outcome([Reply(UTTER_NO_ANSWER)])
    # The patient reads the sources' titles; the exact files and entry travel with the message
    # (Rasa stores extra values in the bot event's metadata) for staff in the dashboard.
    values = {
        "answer": answer.text,
        "source": "; ".join(answer.citations),
        SOURCE_FILES_KEY: "; ".join(answer.sources),
        ENTRY_ID_KEY: answer.entry_id,
    }
    replies = [Reply(UTTER_KB_ANSWER, values)]
    if offer_more:
        replies.append(Reply(UTTER_OFFER_MORE))
    return Outcome(replies, topic=intent)


def answer_question(kb: KnowledgeBase, clinic: ClinicSettings, turn: Turn) -> Outcome:
    """Answer the patient's aftercare question (the rules send every knowledge intent here)."""
    intent = turn.intent or ""
    if intent in RED_FLAG_INTENTS and _triage_level(turn) < Level.ROUTINE:
        # The words were about pain/fever/infection/allergy but the engine found no report of it
        # (negated, or a general question). Never frighten; answer what was actually reported.
        topic_intent = _topic_intent(turn)
        if turn.triage.get("negated"):
            replies = [Reply(UTTER_SYMPTOM_NOT_REPORTED)]
            if topic_intent:
                replies += answer_from_knowledge(kb, clinic, topic_intent, turn).replies
            return Outcome(replies, topic=topic_intent)
    if intent not in kb.intents():
        return Outcome([Reply(UTTER_NO_ANSWER)])
    return answer_from_knowledge(kb, clinic, intent, turn)


def acknowledge_details(kb: KnowledgeBase, clinic: ClinicSettings, turn: Turn) -> Outcome:
    """Thank the patient for a detail and, if a question was pending, answer it again with it."""
    if turn.days_since is not None and turn.last_topic in kb.intents():
        outcome = answer_from_knowledge(kb, clinic, turn.last_topic or "", turn)
        return Outcome(
            [Reply(UTTER_DETAILS_NOTED, {"days": turn.days_since})] + outcome.replies, outcome.topic
        )
    if turn.days_since is not None:
        return Outcome([Reply(UTTER_DETAILS_NOTED, {"days": turn.days_since}), Reply(UTTER_OFFER_MORE)])
    if turn.procedure:
        # The slot holds the id ("derma_roller"); patients read the name ("derma roller").
        name = kb.procedures.display_name(turn.procedure) or turn.procedure
        return Outcome([Reply(UTTER_PROCEDURE_NOTED, {"procedure_name": name}), Reply(UTTER_ASK_DAYS_SINCE)])
    return Outcome([Reply(UTTER_ASK_DAYS_SINCE)])


FlagWriter = Callable[..., None]


@dataclass(frozen=True)
class TriageFlag:
    """What a triage flag says: level, why, which rule, and the words that raised it."""

    level: str
    reason: str
    rule: str
    matched_text: str


def triage_flag_for(verdict: Mapping[str, Any]) -> Optional[TriageFlag]:
    """Return the flag a triage verdict calls for, or ``None`` below ``routine``.

    One function for the action server and the safety policy's owed-flag record, so a flag
    created later by the reconciler reads exactly like one the action would have written.
    """
    level = Level.parse(str(verdict.get("level") or "none"))
    if level < Level.ROUTINE:
        return None
    findings: Sequence[Mapping[str, Any]] = verdict.get("findings", []) or []
    red = [f for f in findings if Level.parse(str(f.get("level", "none"))) >= Level.ROUTINE] or list(findings)
    matched = ", ".join(dict.fromkeys(str(f.get("text", "")) for f in red if f.get("text")))
    reason = f"{level.value}: {matched}" if matched else level.value
    return TriageFlag(level.value, reason, str(verdict.get("rule", "")), matched)


def _store(
    write_flag: FlagWriter, turn: Turn, *, level: str, kind: str, reason: str, rule: str, matched: str = ""
) -> bool:
    """Write one flag for this turn's conversation; False (logged) if the database refused it."""
    try:
        write_flag(
            conversation_id=turn.conversation_id,
            channel=turn.channel,
            level=level,
            kind=kind,
            reason=reason,
            rule=rule,
            matched_text=matched,
            message=turn.text,
            channel_user_id=turn.conversation_id,
            turn_key=turn.turn_key,
        )
    except Exception as error:  # the reply must go out even when the database is full or down
        # No conversation id or text here: logs must not carry patient data.
        logger.error(
            "Could not store a %s flag (%s); the reconciler will retry owed ones.", kind, type(error).__name__
        )
        return False
    return True


def record_triage_flag(
    write_flag: FlagWriter, kb: KnowledgeBase, clinic: ClinicSettings, turn: Turn
) -> Outcome:
    """Record the escalation the safety policy just sent, explain it, then finish the patient's turn."""
    flag = triage_flag_for(turn.triage)
    replies: List[Reply] = []
    if flag is not None:
        stored = _store(
            write_flag,
            turn,
            level=flag.level,
            kind="triage",
            reason=flag.reason,
            rule=flag.rule,
            matched=flag.matched_text,
        )
        if stored:
            replies.append(Reply(UTTER_FLAG_RECORDED))
        if flag.matched_text:
            replies.append(Reply(UTTER_FLAG_DETAIL, {"matched": flag.matched_text}))
    rest = _rest_of_turn(write_flag, kb, clinic, turn)
    return Outcome(replies + rest.replies, rest.topic)


def _rest_of_turn(write_flag: FlagWriter, kb: KnowledgeBase, clinic: ClinicSettings, turn: Turn) -> Outcome:
    """Answer what else the message asked: a question next to a red flag, or a request for a person."""
    if turn.intent == "request_human":
        return request_human(write_flag, turn)
    if turn.intent in kb.intents() and turn.intent not in RED_FLAG_INTENTS:
        return answer_from_knowledge(kb, clinic, turn.intent or "", turn, offer_more=False)
    # A mixed message the classifier took for its red flag: the policy chose what else to answer.
    also = turn.triage.get("also_answer")
    if isinstance(also, str) and also in kb.intents():
        return answer_from_knowledge(kb, clinic, also, turn, offer_more=False)
    return Outcome([])


def request_human(write_flag: FlagWriter, turn: Turn) -> Outcome:
    """Flag the conversation for a call back and tell the patient when to expect it."""
    stored = _store(
        write_flag,
        turn,
        level="handoff",
        kind="handoff",
        reason="patient asked to talk to a person",
        rule="request_human",
    )
    return Outcome([Reply(UTTER_HANDOFF if stored else "utter_handoff_failed")])


def flag_repeated_fallback(write_flag: FlagWriter, turn: Turn) -> Outcome:
    """Two misunderstood messages in a row: ask staff to read the conversation."""
    _store(
        write_flag,
        turn,
        level="fallback",
        kind="fallback",
        reason="two messages in a row not understood",
        rule="nlu_fallback_twice",
    )
    return Outcome([Reply(UTTER_FALLBACK_FLAGGED)])
