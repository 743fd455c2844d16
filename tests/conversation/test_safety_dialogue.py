"""The safety layer's turn logic, table-driven: escalate first, record, then close the turn."""

import pytest

from bot.safety import TurnState, next_action
from bot.triage import Level

E, U, R, S, N = Level.EMERGENCY, Level.URGENT, Level.ROUTINE, Level.SELF_CARE, Level.NONE

CASES = [
    # level, actions already taken this turn, intent, previous intent, disclaimer shown -> expected
    (U, [], "report_fever", None, True, "utter_escalate_urgent"),
    (E, [], "greet", None, True, "utter_escalate_emergency"),  # wrong intent, still escalated
    (R, [], "ask_peeling", None, True, "utter_escalate_routine"),
    (U, ["utter_escalate_urgent"], "report_fever", None, True, "action_record_flag"),
    (U, ["utter_escalate_urgent", "action_record_flag"], "report_fever", None, True, "action_listen"),
    (U, ["utter_escalate_urgent", "action_record_flag"], "report_fever", None, False, "utter_disclaimer"),
    (
        U,
        ["utter_escalate_urgent", "action_record_flag", "utter_disclaimer"],
        "report_fever",
        None,
        False,
        "action_listen",
    ),
    (S, [], "ask_peeling", None, True, None),  # the rules answer
    (N, [], "greet", None, False, None),
    (N, ["utter_greet"], "greet", None, False, "utter_disclaimer"),
    (N, ["utter_greet", "utter_disclaimer"], "greet", None, False, "action_listen"),
    (N, ["action_answer_question"], "ask_sun", "greet", True, "action_listen"),
    (N, ["utter_ask_rephrase"], "nlu_fallback", "nlu_fallback", True, "action_flag_fallback"),
    (
        N,
        ["utter_ask_rephrase", "action_flag_fallback"],
        "nlu_fallback",
        "nlu_fallback",
        True,
        "action_listen",
    ),
    (N, ["utter_ask_rephrase"], "nlu_fallback", "greet", True, "action_listen"),
]


@pytest.mark.parametrize(("level", "acted", "intent", "previous", "shown", "expected"), CASES)
def test_next_action(level, acted, intent, previous, shown, expected):
    turn = TurnState(
        level=level, actions_this_turn=acted, intent=intent, previous_intent=previous, disclaimer_shown=shown
    )
    assert next_action(turn) == expected


CLARIFY_CASES = [
    # level, actions taken, clarify -> expected
    (N, [], True, "utter_ask_safety_questions"),
    (S, [], True, "utter_ask_safety_questions"),
    (R, [], True, "utter_escalate_routine"),  # an escalation already sends the patient to a person
    (U, [], True, "utter_escalate_urgent"),  # rules win
    (E, [], True, "utter_escalate_emergency"),
    (N, [], False, None),
    (N, ["utter_ask_safety_questions"], True, "action_listen"),
]


@pytest.mark.parametrize(("level", "acted", "clarify", "expected"), CLARIFY_CASES)
def test_next_action_asks_when_unsure(level, acted, clarify, expected):
    turn = TurnState(
        level=level,
        actions_this_turn=acted,
        intent="nlu_fallback",
        previous_intent=None,
        disclaimer_shown=True,
        clarify=clarify,
    )
    assert next_action(turn) == expected
