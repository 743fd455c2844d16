"""Every name an action or the safety layer uses exists in the domain; no two responses share text."""

from __future__ import annotations

import ast
import re

import yaml

from bot import names, safety
from bot.settings import PROJECT_ROOT

DOMAIN = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())
CONTRACT_INTENTS = {
    "greet",
    "goodbye",
    "thank",
    "affirm",
    "deny",
    "bot_challenge",
    "out_of_scope",
    "request_human",
    "ask_peeling",
    "ask_peel_off",
    "ask_pimples",
    "report_pain",
    "report_fever",
    "report_infection",
    "report_allergic_reaction",
    "report_redness_swelling",
    "ask_makeup",
    "ask_sun",
    "ask_exercise",
    "ask_skincare",
    "ask_results",
    "ask_home_roller",
    "ask_contraindications",
    "ask_safety",
    "inform",
}


def _python_sources():
    for folder in ("bot", "actions"):
        yield from (PROJECT_ROOT / folder).rglob("*.py")


# Rasa's own metadata key on bot messages, not a response name.
RASA_KEYS = {"utter_action"}


def _response_names_in_code():
    found = set()
    for path in _python_sources():
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and re.fullmatch(r"utter_[a-z_]+", node.value)
            ):
                found.add(node.value)
    return found - RASA_KEYS


def test_contract_intents_are_in_the_domain():
    assert set(DOMAIN["intents"]) >= CONTRACT_INTENTS


def test_contract_slots():
    triage = DOMAIN["slots"]["triage_level"]
    assert triage["type"] == "categorical"
    assert triage["values"] == ["none", "self_care", "routine", "urgent", "emergency"]
    assert DOMAIN["slots"]["days_since_procedure"]["type"] == "float"


def test_every_action_name_is_in_the_domain():
    declared = set(DOMAIN["actions"])
    used = {v for k, v in vars(names).items() if k.startswith("ACTION_") and k != "ACTION_LISTEN"}
    assert used <= declared


def test_every_response_named_in_code_exists():
    assert _response_names_in_code() - set(DOMAIN["responses"]) == set()


def test_every_slot_named_in_code_exists():
    used = {
        v
        for k, v in vars(names).items()
        if k.isupper() and isinstance(v, str)
        and not k.startswith(("ACTION_", "UTTER_"))
        and not k.endswith("_KEY")  # metadata keys, not slots
    }
    assert used | set(names.CLINIC_SLOTS) <= set(DOMAIN["slots"])


def test_every_response_name_is_in_the_domain():
    used = {v for k, v in vars(names).items() if k.startswith("UTTER_")}
    assert used <= set(DOMAIN["responses"])


def test_no_two_responses_share_text():
    texts = [r["text"] for variants in DOMAIN["responses"].values() for r in variants]
    assert len(texts) == len(set(texts))


def test_escalation_responses_need_no_action_server():
    """They are plain texts whose placeholders are slots the SafetyPolicy fills."""
    for name in safety.ESCALATION_RESPONSES.values():
        text = DOMAIN["responses"][name][0]["text"]
        assert set(re.findall(r"{(\w+)}", text)) <= set(names.CLINIC_SLOTS)
        for slot in re.findall(r"{(\w+)}", text):
            assert DOMAIN["slots"][slot].get("initial_value"), f"{slot} needs a safe default"
