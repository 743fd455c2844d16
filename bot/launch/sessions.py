"""Keep a conversation's current session short, so its 200th message costs what its 1st does (issue 15).

Rasa rebuilds each turn's state from the whole current session: the tracker replays every
event, and the policies (ours included) walk ``applied_events()`` several times per turn;
the action server is sent the whole tracker too. A patient who writes for weeks inside the
day-long expiry makes every turn slower. Two changes, both in Rasa's own session mechanism:

- **A session also ends after ``max_events`` events**, at a safe point only: never while the
  assistant's last turn asked something (``utter_ask_*``: treatment day, safety questions,
  rephrase, check-in questions), after a misunderstood message (two in a row raise the
  fallback flag), or in an active form. The next message then starts a session as a day
  of silence does (``action_session_start``, slots carried over), so everything the
  assistant remembers lives on: triage level and verdict, treatment date and procedure,
  disclaimer shown, check-in offer; takeovers and flags are in the database.
- **Slots are carried over once each.** Rasa copies every ``SlotSet`` of the ending session,
  and the carried ones again at the next start, so a long-lived conversation's sessions
  began with an ever longer list; now each slot's last value is set once (same values).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

MAX_SESSION_EVENTS = 300  # about 25-30 turns
FALLBACK_INTENT = "nlu_fallback"
ASKING = "_ask"  # in the name of every response that waits for a particular answer


def session_length(tracker: DialogueStateTracker) -> int:
    """How many events the current session has."""
    count = 0
    for event in reversed(tracker.events):
        if isinstance(event, SessionStarted):
            break
        count += 1
    return count


def at_safe_point(tracker: DialogueStateTracker) -> bool:
    """Tell whether a new session may start before the next message without losing its context."""
    if tracker.active_loop_name:
        return False
    for event in reversed(tracker.events):
        if isinstance(event, UserUttered):
            return event.intent_name != FALLBACK_INTENT
        if isinstance(event, ActionExecuted) and ASKING in (event.action_name or ""):
            return False
        if isinstance(event, BotUttered) and ASKING in str((event.metadata or {}).get("utter_action") or ""):
            return False
        if isinstance(event, SessionStarted):
            return False  # a session with no message yet: nothing to shorten
    return False


def should_roll_over(tracker: DialogueStateTracker, max_events: int) -> bool:
    """Tell whether the next message should start a new session (long session, safe point)."""
    return session_length(tracker) >= max_events and at_safe_point(tracker)


def last_value_per_slot(tracker: DialogueStateTracker) -> List[SlotSet]:
    """One ``SlotSet`` per slot set in the session: its last value and metadata, in order of last setting."""
    latest: Dict[str, SlotSet] = {}
    for event in tracker.applied_events():
        if isinstance(event, SlotSet):
            latest.pop(event.key, None)  # keep dict order = order of the last setting
            latest[event.key] = event
    return [SlotSet(key=event.key, value=event.value, metadata=event.metadata) for event in latest.values()]


def install(max_events: int = MAX_SESSION_EVENTS) -> None:
    """Patch Rasa's processor and ``action_session_start`` (call before Rasa builds its app)."""
    from rasa.core.actions.action import ActionSessionStart
    from rasa.core.processor import MessageProcessor

    has_session_expired = MessageProcessor._has_session_expired

    def expired_or_long(self: Any, tracker: DialogueStateTracker) -> bool:
        if has_session_expired(self, tracker):
            return True
        if not self.domain.session_config.are_sessions_enabled():
            return False
        if should_roll_over(tracker, max_events):
            logger.debug("Starting a new session: the current one reached %d events.", max_events)
            return True
        return False

    MessageProcessor._has_session_expired = expired_or_long
    ActionSessionStart._slot_set_events_from_tracker = staticmethod(last_value_per_slot)
