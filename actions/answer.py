"""Answer aftercare questions from the knowledge base."""

from __future__ import annotations

import abc
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import providers
from actions.tracker_reading import send, turn_from_tracker
from bot.conversation import acknowledge_details, answer_question
from bot.knowledge import ClinicSettings, KnowledgeBase
from bot.names import ACTION_ACKNOWLEDGE_DETAILS, ACTION_ANSWER_QUESTION, LAST_TOPIC


class _KnowledgeAction(Action, metaclass=abc.ABCMeta):
    """Shared constructor: the knowledge base and clinic settings, injectable for tests."""

    def __init__(self, kb: Optional[KnowledgeBase] = None, clinic: Optional[ClinicSettings] = None) -> None:
        self._kb = kb
        self._clinic = clinic

    @abc.abstractmethod
    def name(self) -> str:
        """Name the action (abstract, so the SDK skips this base)."""

    @property
    def kb(self) -> KnowledgeBase:
        return self._kb or providers.knowledge_base()

    @property
    def clinic(self) -> ClinicSettings:
        return self._clinic or providers.clinic_settings()


class ActionAnswerQuestion(_KnowledgeAction):
    """Answer the question named by the intent, adjusted to the days since the procedure."""

    def name(self) -> str:
        return ACTION_ANSWER_QUESTION

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        outcome = answer_question(self.kb, self.clinic, turn_from_tracker(tracker))
        send(dispatcher, outcome)
        return [SlotSet(LAST_TOPIC, outcome.topic)] if outcome.topic else []


class ActionAcknowledgeDetails(_KnowledgeAction):
    """Take note of days since the procedure / procedure type; re-answer a pending question."""

    def name(self) -> str:
        return ACTION_ACKNOWLEDGE_DETAILS

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        outcome = acknowledge_details(self.kb, self.clinic, turn_from_tracker(tracker))
        send(dispatcher, outcome)
        return [SlotSet(LAST_TOPIC, outcome.topic)] if outcome.topic else []
