"""Annotate every parsed message with the triage engine's verdict.

The verdict rides along in the parse data (``parse_data["triage"]``), so it is stored
in the tracker with the message: the safety policy, the actions and the staff
dashboard all see the same explanation (level, rule, matched spans, negations).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.triage import assess

logger = logging.getLogger(__name__)

TRIAGE_KEY = "triage"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class TriageAnnotator(GraphComponent):
    """Run ``bot.triage.assess`` on the message text and attach the result."""

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> TriageAnnotator:
        """Create the annotator and build the triage pipeline now, not on the first patient message."""
        assess("warm up")
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Attach ``triage`` to each message; the engine never raises on odd input."""
        for message in messages:
            text = message.get(TEXT)
            if text is None:
                continue
            message.set(TRIAGE_KEY, assess(str(text)).to_dict(), add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        """Leave training data alone: triage matters only for live messages."""
        return training_data
