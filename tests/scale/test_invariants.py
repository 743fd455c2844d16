"""The scale test's invariant checker fails on every kind of damage it exists to catch."""

from __future__ import annotations

import copy
from typing import Any, Dict, List

import pytest

from scale.invariants import (
    AlertRow,
    ConversationPlan,
    FlagRow,
    OwedRow,
    SentMessage,
    check_conversation,
    check_flags,
)

PLAN = ConversationPlan(
    "widget:p1",
    [
        [SentMessage("p1:m0", "can I wear makeup?")],
        [SentMessage("p1:m1", "I have a fever", red_flag="urgent")],
        [SentMessage("p1:m2", "how long will the redness last?")],
    ],
)


def turn(message: SentMessage, start: float, escalation: str = "") -> List[Dict[str, Any]]:
    """A stored turn: the user event, the replies, and listening again."""
    events: List[Dict[str, Any]] = [
        {"event": "user", "text": message.text, "message_id": message.message_id, "timestamp": start},
        {"event": "action", "name": "action_answer", "timestamp": start + 0.1},
    ]
    if escalation:
        events.append(
            {
                "event": "bot",
                "text": "call",
                "metadata": {"utter_action": escalation},
                "timestamp": start + 0.2,
            }
        )
    events.append({"event": "action", "name": "action_listen", "timestamp": start + 0.3})
    return events


def tracker() -> List[Dict[str, Any]]:
    """The stored conversation when everything went right."""
    first, second, third = PLAN.messages
    return (
        [{"event": "action", "name": "action_session_start", "timestamp": 0.5}]
        + turn(first, 1.0)
        + turn(second, 2.0, escalation="utter_escalate_urgent")
        + turn(third, 3.0)
    )


def test_a_correct_conversation_passes():
    assert check_conversation(PLAN, tracker()) == []


def test_a_lost_message_fails():
    events = [e for e in tracker() if e.get("timestamp", 0) < 3.0]
    assert any("p1:m2 lost" in p for p in check_conversation(PLAN, events))


def test_a_duplicated_turn_fails():
    events = tracker() + turn(PLAN.messages[2], 4.0)
    assert any("stored 2 times" in p for p in check_conversation(PLAN, events))


def test_a_duplicated_event_row_fails():
    events = tracker()
    events.insert(3, copy.deepcopy(events[2]))
    assert any("stored more than once" in p for p in check_conversation(PLAN, events))


def test_reordered_messages_fail():
    first, second, third = PLAN.messages
    events = turn(first, 1.0) + turn(third, 2.0) + turn(second, 3.0, escalation="utter_escalate_urgent")
    assert any("out of the order" in p for p in check_conversation(PLAN, events))


def test_messages_sent_together_may_be_stored_in_either_order():
    a, b = SentMessage("p2:a", "hello"), SentMessage("p2:b", "thanks")
    plan = ConversationPlan("widget:p2", [[a, b]])
    assert check_conversation(plan, turn(b, 1.0) + turn(a, 2.0)) == []


def test_overlapping_turns_fail():
    first, second, third = PLAN.messages
    events = turn(first, 1.0) + turn(second, 1.2, escalation="utter_escalate_urgent") + turn(third, 3.0)
    assert any("at the same time" in p for p in check_conversation(PLAN, events))


def test_an_unfinished_turn_fails():
    events = tracker()[:-1]
    assert any("did not finish" in p for p in check_conversation(PLAN, events))


def test_a_red_flag_without_escalation_fails():
    first, second, third = PLAN.messages
    events = turn(first, 1.0) + turn(second, 2.0) + turn(third, 3.0)
    assert any("not escalated" in p for p in check_conversation(PLAN, events))


def test_a_lower_escalation_does_not_count():
    first, second, third = PLAN.messages
    events = turn(first, 1.0) + turn(second, 2.0, escalation="utter_escalate_routine") + turn(third, 3.0)
    assert any("not escalated" in p for p in check_conversation(PLAN, events))


def test_a_message_nobody_sent_fails():
    stranger = SentMessage("p1:x", "who am I")
    assert any("nobody sent" in p for p in check_conversation(PLAN, tracker() + turn(stranger, 9.0)))


def test_changed_text_fails():
    events = tracker()
    events[1]["text"] = "something else"
    assert any("other text" in p for p in check_conversation(PLAN, events))


FLAG = FlagRow(1, "widget:p1", "triage", "urgent")
OWED = OwedRow("widget:p1", "p1:m1", "settled", 1)
ALERTS = [AlertRow(1, "email", "created", "urgent"), AlertRow(1, "webhook", "created", "urgent")]


def test_one_flag_at_the_right_level_passes():
    assert check_flags([PLAN], [FLAG], [OWED], ALERTS) == []


@pytest.mark.parametrize(
    "flags, owed, alerts, problem",
    [
        ([], [OWED], ALERTS, "never flagged"),
        ([FLAG, FlagRow(2, "widget:p1", "triage", "urgent")], [OWED], ALERTS, "flagged 2 times"),
        ([FlagRow(1, "widget:p1", "triage", "routine")], [OWED], ALERTS, "flagged below urgent"),
        ([FLAG], [OwedRow("widget:p1", "p1:m1", "owed", None)], ALERTS, "never settled"),
        ([FLAG], [OWED, OWED], ALERTS, "more than one flag"),
        ([FLAG], [OWED], ALERTS + ALERTS[:1], "queued twice"),
    ],
)
def test_flag_damage_fails(flags, owed, alerts, problem):
    assert any(problem in p for p in check_flags([PLAN], flags, owed, alerts))


def test_a_handoff_flag_does_not_count_as_the_triage_flag():
    handoff = FlagRow(1, "widget:p1", "handoff", "handoff")
    assert any("never flagged" in p for p in check_flags([PLAN], [handoff], [OWED], ALERTS))
