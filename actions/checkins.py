"""Check-in actions: offer check-ins after a treatment date, record consent, STOP and START.

Thin adapters over ``bot.checkins.chat``. A database failure degrades only this feature: the
offer is left out, and a yes or a STOP that cannot be stored gets the "cannot send you
messages" answer or is logged, never an exception in the patient's turn.
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
    """Shared constructor: the session factory, injectable for tests."""

    NAME = ""

    def __init__(self, factory: Optional[sessionmaker] = None) -> None:
        self._factory = factory

    def name(self) -> str:
        """Name the action (the domain's name for it)."""
        return self.NAME


class ActionRecordCheckinConsent(_CheckinAction):
    """The patient said yes to check-ins: enrol them with their consent on record."""

    NAME = names.ACTION_RECORD_CHECKIN_CONSENT

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Enrol, then confirm (or say this channel cannot be written to)."""
        settings = process_settings()
        kb = providers.knowledge_base()

        def work(session: Session) -> str:
            return chat.consent_in_chat(
                session=session,
                conversation_id=tracker.sender_id,
                treatment_date=tracker.get_slot(TREATMENT_DATE),
                procedure=tracker.get_slot(PROCEDURE),
                procedures=kb.procedures,
                settings=settings.checkins,
                consent_version=checkin_content().consent_version,
                now=utcnow(),
            ).response

        try:
            response = _write(self._factory, work)
        except Exception as error:
            logger.error("Check-in consent could not be stored (%s)", type(error).__name__)
            response = names.UTTER_CHECKIN_UNAVAILABLE
        dispatcher.utter_message(response=response)
        return [SlotSet(names.CHECKIN_OFFER, names.OFFER_ANSWERED)]


class ActionDeclineCheckins(_CheckinAction):
    """The patient said no: nothing is recorded or sent."""

    NAME = names.ACTION_DECLINE_CHECKINS

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Confirm that no check-ins will come."""
        dispatcher.utter_message(response=names.UTTER_CHECKIN_DECLINED)
        return [SlotSet(names.CHECKIN_OFFER, names.OFFER_ANSWERED)]


class ActionCheckinOptOut(_CheckinAction):
    """STOP: record the opt-out at once and confirm it."""

    NAME = names.ACTION_CHECKIN_OPT_OUT

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Opt the conversation out (a longer message must really ask for it)."""
        text = str((tracker.latest_message or {}).get("text") or "")
        if not chat.is_stop_request(text):
            dispatcher.utter_message(response="utter_ask_rephrase")
            return []
        try:
            response = _write(
                self._factory,
                lambda session: chat.opt_out(
                    session=session, conversation_id=tracker.sender_id, now=utcnow()
                ),
            )
        except Exception as error:
            # The worker also honours a bare STOP it finds in the channel inbox.
            logger.error("Opt-out could not be stored (%s)", type(error).__name__)
            response = names.UTTER_CHECKIN_OPTED_OUT
        dispatcher.utter_message(response=response)
        return []


class ActionCheckinOptIn(_CheckinAction):
    """START: check-ins still scheduled go out again."""

    NAME = names.ACTION_CHECKIN_OPT_IN

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[Dict[str, Any]]:
        """Opt the conversation back in and confirm it."""
        try:
            conversation = tracker.sender_id
            response = _write(
                self._factory,
                lambda session: chat.opt_in(session=session, conversation_id=conversation, now=utcnow()),
            )
        except Exception as error:
            logger.error("Opt-in could not be stored (%s)", type(error).__name__)
            response = "utter_ask_rephrase"
        dispatcher.utter_message(response=response)
        return []
