"""Through the real Rasa server: an unclear complaint gets the safety questions, and the answer is triaged.

Run with the action server down, so that asking and escalating are shown to need nothing but the
Rasa server (both are domain responses chosen by the safety policy).
"""

from __future__ import annotations

import uuid
from typing import Any, Dict, List

import pytest
import yaml

from bot.settings import PROJECT_ROOT
from tests.stack import start_stack

pytestmark = pytest.mark.slow

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
RESPONSES = DOMAIN["responses"]
ASK = "utter_ask_safety_questions"


def _start(name: str) -> str:
    return RESPONSES[name][0]["text"].split("{")[0][:40]


def _bot_actions(tracker: Dict[str, Any]) -> List[str]:
    return [e.get("metadata", {}).get("utter_action", "") for e in tracker["events"] if e["event"] == "bot"]


def _last_user(tracker: Dict[str, Any]) -> Dict[str, Any]:
    return [e for e in tracker["events"] if e["event"] == "user"][-1]


def test_unclear_complaint_is_asked_about_and_the_answer_triaged(trained_model, tmp_path):
    stack = start_stack(trained_model, tmp_path / "clarify", with_actions=False)
    try:
        sender = f"clarify-{uuid.uuid4().hex[:8]}"
        replies = stack.chat(sender, "something is wrong with my skin since the session")
        assert replies and replies[0]["text"] == RESPONSES[ASK][0]["text"]
        payloads = [button["payload"] for button in replies[0].get("buttons", [])]
        assert payloads == [button["payload"] for button in RESPONSES[ASK][0]["buttons"]]
        tracker = stack.tracker(sender)
        assert ASK in _bot_actions(tracker)
        screen = _last_user(tracker)["parse_data"]["redflag_screen"]
        assert screen["ask"] is True and screen["rule"].startswith("clarify.")
        assert tracker["slots"]["triage_level"] in (None, "none")

        # The quick reply comes back as the patient's message and is triaged like any other.
        answer = stack.texts(sender, payloads[2])
        assert answer and answer[0].startswith(_start("utter_escalate_emergency"))
        assert stack.tracker(sender)["slots"]["triage_level"] == "emergency"

        # A plain red flag is still escalated, not asked about, with the action server down.
        other = f"{sender}-rf"
        urgent = stack.texts(other, "it really hurts and I think I have a fever")
        assert urgent and urgent[0].startswith(_start("utter_escalate_urgent"))
        assert ASK not in _bot_actions(stack.tracker(other))

        # An ordinary question is answered as before, not asked about.
        plain = f"{sender}-plain"
        stack.chat(plain, "hello")
        assert ASK not in _bot_actions(stack.tracker(plain))
    finally:
        stack.stop()
