"""The red-flag screen as a Rasa graph component: trained, persisted, loaded and run for real."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_components.redflag_detector import SCREEN_KEY, RedFlagDetector


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalModelStorage, Resource]:
    storage = LocalModelStorage(tmp_path_factory.mktemp("storage"))
    resource = Resource("redflag_detector")
    context = ExecutionContext(GraphSchema({}), "test")
    detector = RedFlagDetector.create(RedFlagDetector.get_default_config(), storage, resource, context)
    detector.train(TrainingData())
    return storage, resource


def _load(storage: LocalModelStorage, resource: Resource) -> RedFlagDetector:
    context = ExecutionContext(GraphSchema({}), "test")
    return RedFlagDetector.load(RedFlagDetector.get_default_config(), storage, resource, context)


# message -> (ask, rule prefix, rules_red_flag)
CASES = [
    ("my face really hurts", False, "", True),
    ("something is wrong with my skin", True, "clarify.", False),
    ("when can I wear makeup?", False, "", False),
]


@pytest.mark.parametrize(("text", "ask", "rule", "rules_red_flag"), CASES)
def test_loaded_detector_annotates_messages(trained, text, ask, rule, rules_red_flag) -> None:
    detector = _load(*trained)
    [message] = detector.process([Message.build(text=text)])
    screen = message.get(SCREEN_KEY)
    assert isinstance(screen["probability"], float) and 0.0 <= screen["probability"] <= 1.0
    assert screen["ask"] is ask
    assert screen["rule"].startswith(rule) if rule else screen["rule"] == ""
    assert screen["rules_red_flag"] is rules_red_flag


def test_disagreement_is_logged_without_patient_text(trained, caplog: pytest.LogCaptureFixture) -> None:
    storage, resource = trained
    context = ExecutionContext(GraphSchema({}), "test")
    # threshold 0: the screen is "confident" of every message, so any message the rules
    # place below urgent is a disagreement
    eager = RedFlagDetector.load({"threshold": 0.0}, storage, resource, context)
    with caplog.at_level(logging.INFO, logger="bot.rasa_components.redflag_detector"):
        view = eager.screen("xyzzy my cheeks are a little pink")
        agreed = eager.screen("xyzzy my face really hurts")
    assert view["ask"] is True and view["rule"] == "clarify.detectors_disagree"
    assert agreed["ask"] is False  # the rules found a red flag: they win
    messages = [record.getMessage() for record in caplog.records]
    assert len([m for m in messages if "disagrees" in m]) == 1
    assert not any("xyzzy" in m or "pink" in m for m in messages)


def test_missing_screen_falls_back_to_wording_cues(tmp_path: Path) -> None:
    storage = LocalModelStorage(tmp_path)
    detector = _load(storage, Resource("never_trained"))
    [message] = detector.process([Message.build(text="it looks weird")])
    assert message.get(SCREEN_KEY) == {
        "probability": None,
        "ask": True,
        "rule": "clarify.looks_wrong",
        "rules_level": "none",
        "rules_red_flag": False,
    }
