"""Answer aftercare questions from the knowledge base."""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import providers
from actions.checkins import offer_events
from actions.tracker_reading import TurnAction
from bot.conversation import Outcome, Turn, acknowledge_details, answer_question
from bot.knowledge import ClinicSettings, KnowledgeBase
from bot.names import ACTION_ACKNOWLEDGE_DETAILS, ACTION_ANSWER_QUESTION


class _KnowledgeAction(TurnAction):
    """Shared constructor: the knowledge base and clinic settings, injectable for tests."""

    def __init__(self, kb: Optional[KnowledgeBase] = None, clinic: Optional[ClinicSettings] = None) -> None:
        self._kb = kb
        self._clinic = clinic

    @property
    def kb(self) -> KnowledgeBase:
        return self._kb or providers.knowledge_base()

    @property
    def clinic(self) -> ClinicSettings:
        return self._clinic or providers.clinic_settings()


class ActionAnswerQuestion(_KnowledgeAction):
    """Answer the question named by the intent, adjusted to the days since the procedure."""

    NAME = ACTION_ANSWER_QUESTION

    def outcome(self, turn: Turn) -> Outcome:
        return answer_question(self.kb, self.clinic, turn)


class ActionAcknowledgeDetails(_KnowledgeAction):
    """Take note of days since the procedure / procedure type; re-answer a pending question."""

    NAME = ACTION_ACKNOWLEDGE_DETAILS

    def outcome(self, turn: Turn) -> Outcome:
        return acknowledge_details(self.kb, self.clinic, turn)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Acknowledge the detail; after a treatment date, offer check-ins (bot.checkins)."""
        events = await super().run(dispatcher, tracker, domain)
        return events + offer_events(dispatcher, tracker)
