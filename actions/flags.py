"""Record flags for staff: escalations, requests for a person, repeated misunderstandings.

The escalation reply itself is a domain response sent by the SafetyPolicy before these
actions run; if the action server or the database is down the patient has it already.
"""

from __future__ import annotations

import abc
from typing import Any, Callable, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import providers
from actions.tracker_reading import send, turn_from_tracker
from bot.conversation import flag_repeated_fallback, record_triage_flag, request_human
from bot.knowledge import ClinicSettings, KnowledgeBase
from bot.names import ACTION_FLAG_FALLBACK, ACTION_RECORD_FLAG, ACTION_REQUEST_HUMAN, LAST_TOPIC


class _FlagAction(Action, metaclass=abc.ABCMeta):
    """Shared constructor: where flags are written, injectable for tests."""

    def __init__(
        self,
        write_flag: Optional[Callable[..., Any]] = None,
        kb: Optional[KnowledgeBase] = None,
        clinic: Optional[ClinicSettings] = None,
    ) -> None:
        self._write_flag = write_flag
        self._kb = kb
        self._clinic = clinic

    @abc.abstractmethod
    def name(self) -> str:
        """Name the action (abstract, so the SDK skips this base)."""

    @property
    def write_flag(self) -> Callable[..., Any]:
        return self._write_flag or providers.flag_writer()


class ActionRecordFlag(_FlagAction):
    """Store the triage flag, show what raised it, and answer the rest of the message."""

    def name(self) -> str:
        return ACTION_RECORD_FLAG

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        kb = self._kb or providers.knowledge_base()
        clinic = self._clinic or providers.clinic_settings()
        outcome = record_triage_flag(self.write_flag, kb, clinic, turn_from_tracker(tracker))
        send(dispatcher, outcome)
        return [SlotSet(LAST_TOPIC, outcome.topic)] if outcome.topic else []


class ActionRequestHuman(_FlagAction):
    """Flag the conversation as a hand-off and tell the patient when the clinic will reply."""

    def name(self) -> str:
        return ACTION_REQUEST_HUMAN

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        send(dispatcher, request_human(self.write_flag, turn_from_tracker(tracker)))
        return []


class ActionFlagFallback(_FlagAction):
    """Flag a conversation after two misunderstood messages in a row."""

    def name(self) -> str:
        return ACTION_FLAG_FALLBACK

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        send(dispatcher, flag_repeated_fallback(self.write_flag, turn_from_tracker(tracker)))
        return []
