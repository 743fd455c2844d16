"""A mixed message gets the escalation and, after it, the answer to the rest (issue 14).

``action_record_flag`` runs ``bot.conversation.record_triage_flag`` after the escalation reply;
the verdict's ``also_answer`` (chosen by the safety policy, ``bot.verdict.also_answer``) names
the knowledge answer for a question or ordinary topic the classifier ranked below the red flag.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import pytest

from actions.providers import flag_writer
from bot.conversation import Turn, record_triage_flag
from bot.knowledge import get_clinic_settings, get_knowledge_base
from bot.names import UTTER_FLAG_RECORDED, UTTER_KB_ANSWER
from bot.triage import assess
from bot.verdict import ALSO_ANSWER_KEY, also_answer


def _turn(text: str, intent: str, also: Optional[str]) -> Turn:
    verdict: Dict[str, Any] = {**assess(text).to_dict(), "turn_key": "id:m1", ALSO_ANSWER_KEY: also}
    return Turn("patient-1", "rest", text, intent, verdict, turn_key="id:m1")


def _responses(outcome) -> List[str]:
    return [reply.response for reply in outcome.replies]


@pytest.mark.parametrize(
    ("text", "intent", "also"),
    [
        ("flaking everywhere and it stings badly when I wash", "report_pain", "ask_peeling"),
        (
            "when can I wear makeup again? also my lips have swollen up",
            "report_allergic_reaction",
            "ask_makeup",
        ),
        ("I've got a temperature and lots of little spots, is that normal?", "report_fever", "ask_pimples"),
    ],
)
def test_the_other_topic_is_answered_after_the_flag(
    session_factory, text: str, intent: str, also: str
) -> None:
    kb, clinic = get_knowledge_base(), get_clinic_settings()
    outcome = record_triage_flag(flag_writer(lambda: session_factory), kb, clinic, _turn(text, intent, also))
    responses = _responses(outcome)
    assert responses[0] == UTTER_FLAG_RECORDED
    assert responses.count(UTTER_KB_ANSWER) == 1
    assert outcome.topic == also


def test_without_another_topic_only_the_flag_is_explained(session_factory) -> None:
    kb, clinic = get_knowledge_base(), get_clinic_settings()
    turn = _turn("my face really hurts", "report_pain", None)
    outcome = record_triage_flag(flag_writer(lambda: session_factory), kb, clinic, turn)
    assert UTTER_KB_ANSWER not in _responses(outcome)


# text, top intent, ranking -> what else to answer
CASES = [
    # a question ranked below the red flag, and the message asks one
    (
        "can I wear makeup? my lips are swelling",
        "report_allergic_reaction",
        [("ask_makeup", 0.3)],
        "ask_makeup",
    ),
    # no question mark: no question is invented from the ranking; the reported topic is answered
    ("my skin is peeling and it burns", "report_pain", [("ask_makeup", 0.4)], "ask_peeling"),
    # below the floor
    ("can I go out? it really hurts", "report_pain", [("ask_sun", 0.05)], None),
    # an emergency answers a question, never a topic
    ("my lips are swelling and my skin is peeling", "report_allergic_reaction", [], None),
    # the top intent is a question: answered anyway
    ("can I use moisturiser? my face hurts", "ask_skincare", [("ask_sun", 0.3)], None),
    # nothing escalated: the ordinary answer, nothing extra
    ("no fever, just peeling", "report_fever", [("ask_peeling", 0.4)], None),
    ("my skin is peeling, can I use makeup?", "ask_peeling", [("ask_makeup", 0.4)], None),
]


@pytest.mark.parametrize(("text", "intent", "ranking", "expected"), CASES)
def test_also_answer(text: str, intent: str, ranking, expected: Optional[str]) -> None:
    intents = [{"name": intent, "confidence": 0.5}] + [{"name": n, "confidence": c} for n, c in ranking]
    assert also_answer(assess(text), intent, intents, text) == expected
