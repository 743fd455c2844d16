"""A Rasa policy that lets no red flag through, whatever the intent classifier decided.

It re-runs the triage engine on the latest user text (with the days since the
procedure from the tracker), predicts the escalation response before anything else,
keeps ``triage_level`` at the highest level reached, and closes each turn
(fallback flag, first-message disclaimer). With priority above ``RulePolicy`` and
confidence 1.0 it wins whenever it speaks; when it abstains the rules decide.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Dict, List, Optional

from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData, confidence_scores_for
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.knowledge import load_clinic_settings
from bot.safety import TurnState, next_action
from bot.settings import Settings
from bot.slots import CLINIC_SLOTS, DAYS_SINCE_PROCEDURE, DISCLAIMER_SHOWN, TRIAGE_LEVEL
from bot.triage import Level, assess
from bot.triage.clarify import decide_for_message

logger = logging.getLogger(__name__)

_NOT_A_RESPONSE = {"action_listen", "action_extract_slots", "action_session_start"}


@lru_cache(maxsize=1)
def _clinic_values() -> Dict[str, str]:
    values = load_clinic_settings(Settings.from_env()).as_template_values()
    return {slot: str(values[key]) for slot, key in CLINIC_SLOTS.items() if key in values}


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class SafetyPolicy(Policy):
    """Escalate red flags deterministically; never lower ``triage_level``."""

    @staticmethod
    def supported_data() -> SupportedData:
        """Train on nothing: the policy's behaviour is fixed by ``bot.safety``."""
        return SupportedData.ML_AND_RULE_DATA

    @staticmethod
    def get_default_config() -> Dict[str, Any]:
        """Rank above ``RulePolicy`` (priority 6)."""
        return {"priority": 7}

    def __init__(
        self,
        config: Dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Optional[Any] = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)

    def train(self, training_trackers: List[Any], domain: Domain, **kwargs: Any) -> Resource:
        """Nothing to learn."""
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Predict the safety layer's action with full confidence, or abstain."""
        turn = _turn_state(tracker)
        if turn is None:
            return self._prediction(self._default_predictions(domain))
        events = _slot_events(tracker, turn.level)
        action = next_action(turn)
        if action is None or action not in domain.action_names_or_texts:
            return self._prediction(self._default_predictions(domain), events=events)
        optional: List[Event] = []
        if action == "utter_disclaimer":
            optional.append(SlotSet(DISCLAIMER_SHOWN, True))
        return self._prediction(
            confidence_scores_for(action, 1.0, domain), events=events, optional_events=optional
        )


def _turn_state(tracker: DialogueStateTracker) -> Optional[TurnState]:
    acted: List[str] = []
    user_events: List[UserUttered] = []
    for event in reversed(tracker.applied_events()):
        if isinstance(event, UserUttered):
            user_events.append(event)
            if len(user_events) == 2:
                break
        elif (
            isinstance(event, ActionExecuted)
            and not user_events
            and event.action_name
            and event.action_name not in _NOT_A_RESPONSE
        ):
            acted.append(event.action_name)
    if not user_events:
        return None
    latest = user_events[0]
    days = tracker.get_slot(DAYS_SINCE_PROCEDURE)
    result = assess(latest.text or "", days_since=int(days) if days is not None else None)
    return TurnState(
        level=result.level,
        actions_this_turn=list(reversed(acted)),
        intent=latest.intent_name,
        previous_intent=user_events[1].intent_name if len(user_events) > 1 else None,
        disclaimer_shown=bool(tracker.get_slot(DISCLAIMER_SHOWN)),
        clarify=decide_for_message(latest.text or "", result, latest.parse_data).ask,
    )


def _slot_events(tracker: DialogueStateTracker, level: Level) -> List[Event]:
    events: List[Event] = []
    current = Level.parse(tracker.get_slot(TRIAGE_LEVEL) or "none")
    if level > current:
        events.append(SlotSet(TRIAGE_LEVEL, level.value))
    try:
        clinic = _clinic_values()
    except Exception:  # the escalation must go out even if clinic settings are broken
        logger.exception("Clinic settings could not be loaded; escalation replies keep their defaults.")
        clinic = {}
    events += [SlotSet(slot, value) for slot, value in clinic.items() if tracker.get_slot(slot) != value]
    return events
