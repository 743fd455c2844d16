"""Extract ``days_since`` and ``temperature`` with deterministic rules instead of DIET.

How long ago the procedure was decides which answer applies, so it must not depend on
whether a statistical model happened to tag "a fortnight ago": rules give the same
number every time, and ``bot.dates`` is tested on its own.
"""

from __future__ import annotations

import re
from typing import Any, Dict, List

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.dates import find_days_mentions

_TEMPERATURE = re.compile(
    r"\b(?P<value>\d{2,3}(?:[.,]\d)?)\s*(?:°|º|deg(?:rees?)?\s*)?\s*(?P<unit>c|f|celsius|fahrenheit)?\b",
    re.I,
)
_TEMPERATURE_CONTEXT = re.compile(r"temp|fever|°|º|degree|celsius|fahrenheit|thermometer", re.I)


def find_temperatures(text: str) -> List[Dict[str, Any]]:
    """Return temperature mentions (value in °C) that look like body temperatures."""
    found: List[Dict[str, Any]] = []
    if not _TEMPERATURE_CONTEXT.search(text):
        return found
    for match in _TEMPERATURE.finditer(text):
        value = float(match.group("value").replace(",", "."))
        unit = (match.group("unit") or "").lower()
        celsius = (value - 32) * 5 / 9 if unit.startswith("f") or (not unit and value >= 90) else value
        if 34.0 <= celsius <= 44.0:
            found.append({"start": match.start(), "end": match.end(), "value": round(celsius, 1)})
    return found


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class RuleEntityExtractor(GraphComponent, EntityExtractorMixin):
    """Add ``days_since`` (whole days, relative to today) and ``temperature`` (°C) entities."""

    @classmethod
    def create(
        cls,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> RuleEntityExtractor:
        """Create the extractor (see the parent class)."""
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        """Append rule-based entities to each message."""
        for message in messages:
            text = message.get(TEXT) or ""
            entities = [
                {"entity": "days_since", "value": m.days, "start": m.start, "end": m.end}
                for m in find_days_mentions(text)
            ]
            entities += [
                {"entity": "temperature", "value": t["value"], "start": t["start"], "end": t["end"]}
                for t in find_temperatures(text)
            ]
            if not entities:
                continue
            entities = self.add_extractor_name(entities)
            message.set(ENTITIES, message.get(ENTITIES, []) + entities, add_to_output=True)
        return messages
