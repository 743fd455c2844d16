"""Extract ``days_since`` and ``temperature`` with deterministic rules instead of DIET.

How long ago the procedure was decides which answer applies, so it must not depend on
whether a statistical model happened to tag "a fortnight ago": rules give the same
number every time, and ``bot.dates`` is tested on its own. These entities describe the
message only; the slots (``treatment_date``, ``days_since_procedure``) are set by the
SafetyPolicy, which decides whether a date is about the treatment (``bot.treatment_date``).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Dict, List, Optional

from rasa.engine.graph import GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.dates import find_days_mentions
from bot.rasa_components.creation import CreatedFromConfig
from bot.triage.config import default_config
from bot.triage.measures import TemperatureReader


@lru_cache(maxsize=1)
def _temperature_reader() -> TemperatureReader:
    return TemperatureReader(default_config().temperature)


def find_temperatures(text: str) -> List[Dict[str, Any]]:
    """Return body temperatures (value in °C), read by the triage engine's own reader.

    One reader for the entity and the triage verdict, so "38,2" or "101 F" is a fever to both.
    """
    lowered = text.lower()
    if len(lowered) != len(text):  # offsets must match the original text
        return []
    readings = _temperature_reader().read(lowered, lambda offset: lowered)
    return [{"start": r.start, "end": r.end, "value": r.celsius} for r in readings]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False)
class RuleEntityExtractor(CreatedFromConfig, GraphComponent, EntityExtractorMixin):
    """Add ``days_since`` (whole days, relative to today) and ``temperature`` (°C) entities."""

    def __init__(self, config: Optional[Dict[str, Any]] = None) -> None:
        """Nothing to configure: the rules are fixed."""

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
