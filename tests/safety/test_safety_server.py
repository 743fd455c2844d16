"""Through the real servers: mixed messages, denied red flags and repeated unclear messages (issue 14)."""

from __future__ import annotations

import uuid
from typing import Any, Dict, List

import pytest
import yaml

from bot.settings import PROJECT_ROOT
from tests.stack import start_stack

pytestmark = pytest.mark.slow

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]
ASK = "utter_ask_safety_questions"


def _bot_actions(tracker: Dict[str, Any]) -> List[str]:
    return [e.get("metadata", {}).get("utter_action", "") for e in tracker["events"] if e["event"] == "bot"]


def _start(name: str) -> str:
    return RESPONSES[name][0]["text"].split("{")[0][:40]


def test_mixed_denied_and_repeated_messages(assistant) -> None:
    sender = f"mixed-{uuid.uuid4().hex[:8]}"
    # an ordinary topic next to a red flag: the escalation first, then the topic's knowledge answer
    replies = assistant.texts(sender, "flaking everywhere and it stings badly when I wash")
    assert replies[0].startswith(_start("utter_escalate_urgent"))
    actions = _bot_actions(assistant.tracker(sender))
    assert "utter_kb_answer" in actions[actions.index("utter_escalate_urgent") :]

    # a denied red flag next to an ordinary symptom: no escalation, no safety questions
    calm = f"{sender}-calm"
    assistant.texts(calm, "no fever, no pain, just peeling on my chin")
    tracker = assistant.tracker(calm)
    assert tracker["slots"]["triage_level"] in (None, "none", "self_care")
    assert ASK not in _bot_actions(tracker)
    assert not any(action.startswith("utter_escalate") for action in _bot_actions(tracker))

    # an unclear complaint is asked about once; a still unclear answer is not asked again
    unsure = f"{sender}-unsure"
    assistant.texts(unsure, "something is wrong with my skin since the session")
    assert _bot_actions(assistant.tracker(unsure)).count(ASK) == 1
    assistant.texts(unsure, "I don't know, it just looks weird")
    assert _bot_actions(assistant.tracker(unsure)).count(ASK) == 1


def test_asking_and_escalating_need_no_action_server(trained_model, tmp_path) -> None:
    stack = start_stack(trained_model, tmp_path / "no-actions", with_actions=False)
    try:
        sender = f"second-hand-{uuid.uuid4().hex[:8]}"
        replies = stack.chat(sender, "my friend's lips swelled after her session, could that happen to me?")
        assert replies and replies[0]["text"] == RESPONSES[ASK][0]["text"]
        urgent = stack.texts(f"{sender}-rf", "when can I wear makeup again? also my lips have swollen up")
        assert urgent and urgent[0].startswith(_start("utter_escalate_emergency"))
    finally:
        stack.stop()
