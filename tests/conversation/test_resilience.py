"""Escalations survive a dead action server; conversations survive a restart."""

from __future__ import annotations

import uuid

import pytest
import yaml

from bot.settings import PROJECT_ROOT
from tests.stack import start_stack

pytestmark = pytest.mark.slow

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]


def _start(name: str) -> str:
    return RESPONSES[name][0]["text"].split("{")[0][:40]


def test_escalation_without_action_server(trained_model, tmp_path):
    stack = start_stack(trained_model, tmp_path / "no-actions", with_actions=False)
    try:
        sender = f"down-{uuid.uuid4().hex[:8]}"
        urgent = stack.texts(sender, "it really hurts and I think I have a fever")
        emergency = stack.texts(f"{sender}-2", "my throat is swelling and I can't swallow")
        assert urgent and urgent[0].startswith(_start("utter_escalate_urgent"))
        assert emergency and emergency[0].startswith(_start("utter_escalate_emergency"))
        assert stack.tracker(sender)["slots"]["triage_level"] == "urgent"
    finally:
        stack.stop()


def test_conversation_history_survives_restart(trained_model, tmp_path):
    var_dir = tmp_path / "restart"
    sender = f"restart-{uuid.uuid4().hex[:8]}"
    first = start_stack(trained_model, var_dir)
    try:
        first.texts(sender, "hello")
        first.texts(sender, "I have a fever")
    finally:
        first.stop()
    second = start_stack(trained_model, var_dir)
    try:
        tracker = second.tracker(sender)
        user_texts = [e.get("text") for e in tracker["events"] if e["event"] == "user"]
        assert user_texts[:2] == ["hello", "I have a fever"]
        assert tracker["slots"]["triage_level"] == "urgent"
    finally:
        second.stop()
