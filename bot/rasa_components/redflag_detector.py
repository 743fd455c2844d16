"""The learned red-flag screen as a Rasa graph component: trained with the model, run on every message.

Why a component: the screen (:mod:`bot.triage.screen`) is trained when the model is trained and
shipped inside the model archive, so a running assistant needs no download and no extra file.
On each message it stores its probability and the clarification decision in the parse data
(``parse_data["redflag_screen"]``), where the safety policy and the dashboard can read them.
A disagreement with the rules is logged for review without the patient's text.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, List, Optional

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.settings import Settings
from bot.triage import Level, assess
from bot.triage.clarify import DISAGREE_RULE, decide
from bot.triage.screen import CONFIDENT, ScreenModel, train_for

logger = logging.getLogger(__name__)

SCREEN_KEY = "redflag_screen"
MODEL_FILE = "redflag_screen.joblib"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True)
class RedFlagDetector(GraphComponent):
    """Score every message with the learned screen and record whether to ask the safety questions."""

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Confidence from which the screen's red flag makes the assistant ask."""
        return {"threshold": CONFIDENT}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        model: Optional[ScreenModel] = None,
    ) -> None:
        self._threshold = float(config.get("threshold", CONFIDENT))
        self._storage = model_storage
        self._resource = resource
        self._model = model

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RedFlagDetector:
        """Create an untrained detector (training fills it)."""
        return cls(config, model_storage, resource)

    @classmethod
    def load(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        **kwargs: Any,
    ) -> RedFlagDetector:
        """Load the screen from the model archive; without it the detector only records the rules' view."""
        model: Optional[ScreenModel] = None
        try:
            with model_storage.read_from(resource) as directory:
                model = ScreenModel.load(Path(directory) / MODEL_FILE)
        except Exception:  # noqa: BLE001 - a missing screen must not stop the assistant
            logger.warning("red-flag screen not found in the model; clarification uses wording cues only")
        return cls(config, model_storage, resource, model)

    def train(self, training_data: TrainingData) -> Resource:
        """Train the screen from the triage sets and NLU data of the project, and persist it."""
        model = train_for(Settings.from_env().project_root)
        if model is None:
            logger.warning("red-flag screen not trained: too little labelled data")
            return self._resource
        self._model = model
        with self._storage.write_to(self._resource) as directory:
            model.save(Path(directory) / MODEL_FILE)
        return self._resource

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leave training data alone."""
        return training_data

    def process(self, messages: List[Message]) -> List[Message]:
        """Attach the screen's probability and the clarification decision to each message."""
        for message in messages:
            text = message.get(TEXT)
            if text is None:
                continue
            message.set(SCREEN_KEY, self.screen(str(text)), add_to_output=True)
        return messages

    def screen(self, text: str) -> Dict[str, Any]:
        """Return the screen's view of ``text`` (probability, ask, clarify rule); logs disagreements."""
        probability = self._model.probability(text) if self._model is not None else None
        result = assess(text)
        decision = decide(text, result, probability, self._threshold)
        if decision.rule == DISAGREE_RULE:
            # No patient text in logs: the rule verdict and the score are enough to review.
            logger.info(
                "red-flag screen disagrees with the rules: probability=%.2f rules_level=%s rules_rule=%s",
                probability or 0.0,
                result.level.value,
                result.rule or "-",
            )
        return {
            "probability": probability,
            "ask": decision.ask,
            "rule": decision.rule,
            "rules_level": result.level.value,
            "rules_red_flag": result.level >= Level.URGENT,
        }
