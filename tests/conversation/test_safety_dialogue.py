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
