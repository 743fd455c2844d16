"""Record flags for staff: escalations, requests for a person, repeated misunderstandings.

The escalation reply itself is a domain response sent by the SafetyPolicy before these
actions run; if the action server or the database is down the patient has it already.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

from actions import providers
from actions.tracker_reading import TurnAction
from bot.conversation import Outcome, Turn, flag_repeated_fallback, record_triage_flag, request_human
from bot.knowledge import ClinicSettings, KnowledgeBase
from bot.names import ACTION_FLAG_FALLBACK, ACTION_RECORD_FLAG, ACTION_REQUEST_HUMAN


class _FlagAction(TurnAction):
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

    @property
    def write_flag(self) -> Callable[..., Any]:
        return self._write_flag or providers.flag_writer()


class ActionRecordFlag(_FlagAction):
    """Store the triage flag, show what raised it, and answer the rest of the message."""

    NAME = ACTION_RECORD_FLAG

    def outcome(self, turn: Turn) -> Outcome:
        kb = self._kb or providers.knowledge_base()
        clinic = self._clinic or providers.clinic_settings()
        return record_triage_flag(self.write_flag, kb, clinic, turn)


class ActionRequestHuman(_FlagAction):
    """Flag the conversation as a hand-off and tell the patient when the clinic will reply."""

    NAME = ACTION_REQUEST_HUMAN

    def outcome(self, turn: Turn) -> Outcome:
        return request_human(self.write_flag, turn)


class ActionFlagFallback(_FlagAction):
    """Flag a conversation after two misunderstood messages in a row."""

    NAME = ACTION_FLAG_FALLBACK

    def outcome(self, turn: Turn) -> Outcome:
        return flag_repeated_fallback(self.write_flag, turn)
