"""Rasa SDK action server: thin adapters from the tracker to ``bot``.

Start with ``rasa run actions --actions actions`` (``aftercare run`` does it for you).
"""

from actions.answer import ActionAcknowledgeDetails, ActionAnswerQuestion
from actions.checkins import (
    ActionCheckinOptIn,
    ActionCheckinOptOut,
    ActionDeclineCheckins,
    ActionRecordCheckinConsent,
)
from actions.flags import ActionFlagFallback, ActionRecordFlag, ActionRequestHuman

__all__ = [
    "ActionAnswerQuestion",
    "ActionAcknowledgeDetails",
    "ActionRecordFlag",
    "ActionRequestHuman",
    "ActionFlagFallback",
    "ActionRecordCheckinConsent",
    "ActionDeclineCheckins",
    "ActionCheckinOptOut",
    "ActionCheckinOptIn",
]
