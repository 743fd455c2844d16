"""Check-in actions: offer check-ins after a treatment date, record consent, STOP and START.

Thin adapters over ``bot.checkins.chat``. A database failure degrades only this feature: the
offer is left out, and a yes, a STOP or a START that cannot be stored gets a reply that says
nothing was switched ("cannot send you messages", "please say it another way"), never an
exception in the patient's turn. A bare STOP or START never reaches these actions on a patient
channel: the channel worker answers it before the classifier (``bot.checkins.optout``).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any, Callable, Dict, List, Optional, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy.orm import Session, sessionmaker

from actions import providers
from bot.checkins import chat, names
from bot.checkins.content import CheckinContent, load_content
from bot.names import PROCEDURE, TREATMENT_DATE
from bot.settings import process_settings
from bot.storage.db import run_write, utcnow

logger = logging.getLogger(__name__)
T = TypeVar("T")


@lru_cache(maxsize=1)
def checkin_content() -> CheckinContent:
    """The check-in texts (for the consent wording version)."""
    return load_content(process_settings().knowledge_dir)


def _write(factory: Optional[sessionmaker], work: Callable[[Session], T]) -> T:
    return run_write(factory or providers.session_factory(), work)


def offer_events(
    dispatcher: CollectingDispatcher, tracker: Tracker, factory: Optional[sessionmaker] = None
) -> List[Dict[str, Any]]:
    """Ask "may I check in with you?" when a treatment date is known and it was not asked before."""

    def decide(session: Session) -> bool:
        return chat.should_offer(
            session=session,
            conversation_id=tracker.sender_id,
            treatment_date=tracker.get_slot(TREATMENT_DATE),
            offer=tracker.get_slot(names.CHECKIN_OFFER),
        )

    if not tracker.get_slot(TREATMENT_DATE) or tracker.get_slot(names.CHECKIN_OFFER) is not None:
        return []
    try:
        offer = _write(factory, decide)
    except Exception as error:
        logger.error("Check-in offer left out (%s)", type(error).__name__)
        return []
    if not offer:
        return []
    dispatcher.utter_message(response=names.UTTER_ASK_CHECKIN_CONSENT)
    return [SlotSet(names.CHECKIN_OFFER, names.OFFER_ASKED)]


class _CheckinAction(Action):
    """Choose one response (``respond``), send it, return ``events``; the session factory is injectable."""

    NAME = ""
    # What to say when the change cannot be stored.
    FAILED = names.UTTER_ASK_REPHRASE

    def __init__(self, factory: Optional[sessionmaker] = None) -> None:
        self._factory = factory

    def name(self) -> str:
        """Name the action (the domain's name for it)."""
        return self.NAME

    def respond(self, tracker: Tracker) -> str:
        """The response to send (and any change to store first)."""
        raise NotImplementedError

    def events(self) -> List[Dict[str, Any]]:
        """The events after the response."""
        return []

    def stored(self, work: Callable[[Session], str]) -> str:
        """Run ``work`` in one transaction; on failure log one line and answer ``FAILED``."""
        try:
            return _write(self._factory, work)
        except Exception as error:
            logger.error("%s could not store its change (%s)", self.NAME, type(error).__name__)
            return self.FAILED

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Send the chosen response."""
        dispatcher.utter_message(response=self.respond(tracker))
        return self.events()


class _OfferAnswer(_CheckinAction):
    """A yes or no answers the offer only as the patient's next message after it.

    Later the offer has expired: the yes or no is answered as anywhere else (``STALE``), and
    nothing is recorded.
    """

    STALE = ""

    def respond(self, tracker: Tracker) -> str:
        """Answer the offer, or treat an expired offer's yes/no as an ordinary one."""
        if not chat.answers_the_offer(tracker.events):
            return self.STALE
        return self.answer(tracker)

    def answer(self, tracker: Tracker) -> str:
        """The response to a direct answer."""
        raise NotImplementedError

    def events(self) -> List[Dict[str, Any]]:
        """The offer is settled (answered or expired): it is not made again in this conversation."""
        return [SlotSet(names.CHECKIN_OFFER, names.OFFER_ANSWERED)]


class ActionRecordCheckinConsent(_OfferAnswer):
    """The patient said yes to check-ins: enrol them with their consent on record."""

    NAME = names.ACTION_RECORD_CHECKIN_CONSENT
    FAILED = names.UTTER_CHECKIN_UNAVAILABLE
    STALE = names.UTTER_AFFIRM

    def answer(self, tracker: Tracker) -> str:
        """Enrol, then confirm (or say this channel cannot be written to)."""
        settings = process_settings()
        kb = providers.knowledge_base()
        return self.stored(
            lambda session: (
                chat.consent_in_chat(
                    session=session,
                    conversation_id=tracker.sender_id,
                    treatment_date=tracker.get_slot(TREATMENT_DATE),
                    procedure=tracker.get_slot(PROCEDURE),
                    procedures=kb.procedures,
                    settings=settings.checkins,
                    consent_version=checkin_content().consent_version,
                    now=utcnow(),
                ).response
            )
        )


class ActionDeclineCheckins(_OfferAnswer):
    """The patient said no: nothing is recorded or sent."""

    NAME = names.ACTION_DECLINE_CHECKINS
    STALE = names.UTTER_DENY

    def answer(self, tracker: Tracker) -> str:
        """Confirm that no check-ins will come."""
        return names.UTTER_CHECKIN_DECLINED


class ActionCheckinOptOut(_CheckinAction):
    """STOP inside a longer message: record the opt-out at once and confirm it."""

    NAME = names.ACTION_CHECKIN_OPT_OUT

    def respond(self, tracker: Tracker) -> str:
        """Opt the conversation out (a longer message must really ask for it)."""
        text = str((tracker.latest_message or {}).get("text") or "")
        if not chat.is_stop_request(text):
            return names.UTTER_ASK_REPHRASE
        conversation = tracker.sender_id
        return self.stored(
            lambda session: chat.opt_out(session=session, conversation_id=conversation, now=utcnow())
        )


class ActionCheckinOptIn(_CheckinAction):
    """START: check-ins still scheduled go out again."""

    NAME = names.ACTION_CHECKIN_OPT_IN

    def respond(self, tracker: Tracker) -> str:
        """Opt the conversation back in and confirm it."""
        conversation = tracker.sender_id
        return self.stored(
            lambda session: chat.opt_in(session=session, conversation_id=conversation, now=utcnow())
        )
