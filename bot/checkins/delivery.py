"""Where a check-in goes: the patient's channel, or for a widget patient the contact they left.

Widget patients are anonymous until they leave a phone number or an email address in the
widget's contact step (``aftercare_patient_contacts``). A consented widget patient's check-in
then goes by SMS (through the Twilio channel, in that number's own conversation, where the
patient's SMS answers arrive) when Twilio is configured, or by email as well as in the widget
(the email says the check-in waits in the chat) when the clinic set a sender. Otherwise the
widget shows it on the next visit.

An email is queued in the channel outbox (``bot.storage.inbox``, channel ``email``) in the
transaction that claims the check-in, without the address: the address is read from the
contact table when it is sent, so ``aftercare purge`` leaves no copy behind. The check-in worker
sends due emails each round, on one replica at a time (a lease), with the outbox's retries.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Optional, Tuple

from sqlalchemy.orm import Session, sessionmaker

from bot.checkins.addresses import AddressError, conversation_for
from bot.checkins.optout import opted_out
from bot.storage import inbox, leases
from bot.storage.checkins import Enrolment
from bot.storage.contacts import contact_for
from bot.storage.db import run_write

logger = logging.getLogger(__name__)

EMAIL_CHANNEL = "email"
EMAIL_LEASE = "send:email"
LEASE_TTL = timedelta(minutes=2)
NO_ADDRESS = "no email address on record"
OPTED_OUT = "opted out"

# Sends one email: (address, subject, text); raises when the server does not take it.
SendEmail = Callable[[str, str, str], None]


@dataclass(frozen=True)
class ContactSenders:
    """Which senders this installation has for widget patients' contacts."""

    sms: bool = False
    email: bool = False


@dataclass(frozen=True)
class Route:
    """Where one check-in is queued, and whether an email copy goes to the patient's address."""

    conversation_id: str
    email: bool = False


def route_for(*, session: Session, enrolment: Enrolment, senders: ContactSenders) -> Route:
    """The route of an enrolment's check-ins (the widget's own conversation unless a contact serves)."""
    here = Route(enrolment.conversation_id)
    if enrolment.channel != "widget" or not (senders.sms or senders.email):
        return here
    contact = contact_for(session=session, conversation_id=enrolment.conversation_id)
    if contact is None:
        return here
    if contact.kind == "phone" and senders.sms:
        try:
            return Route(conversation_for("twilio", contact.value))
        except AddressError:
            return here  # a national number Twilio cannot reach: the widget still shows it
    return Route(here.conversation_id, email=contact.kind == "email" and senders.email)


def queue_email(
    *, session: Session, key: str, conversation_id: str, subject: str, text: str, now: datetime
) -> None:
    """Queue one check-in email for the contact of ``conversation_id`` (sent once under ``key``)."""
    request = {"conversation_id": conversation_id, "subject": subject, "text": text}
    inbox.enqueue_requests(session=session, channel=EMAIL_CHANNEL, key=key, requests=[request], now=now)


@dataclass
class EmailOutbox:
    """Send the queued check-in emails: one replica at a time, each once, retried on failure."""

    factory: sessionmaker
    send: SendEmail
    holder: str = ""

    def __post_init__(self) -> None:
        self.holder = self.holder or leases.holder_id("checkin-email")

    def send_due(self, now: datetime) -> List[int]:
        """Send every due email; return the outbox ids that went out."""
        if not run_write(self.factory, self._take(now)):
            return []
        sent: List[int] = []
        try:
            for row_id, request in run_write(self.factory, self._due(now)):
                address, refusal = run_write(self.factory, self._address(request))
                error = refusal or self._try_send(address, request)
                run_write(self.factory, self._mark(row_id, error, permanent=refusal is not None, now=now))
                if error is None:
                    sent.append(row_id)
        finally:
            run_write(
                self.factory,
                lambda session: leases.release(session=session, name=EMAIL_LEASE, holder=self.holder),
            )
        return sent

    def _take(self, now: datetime) -> Callable[[Session], bool]:
        return lambda session: leases.acquire(
            session=session, name=EMAIL_LEASE, holder=self.holder, ttl=LEASE_TTL, now=now
        )

    @staticmethod
    def _due(now: datetime) -> Callable[[Session], List[Tuple[int, Dict[str, Any]]]]:
        def read(session: Session) -> List[Tuple[int, Dict[str, Any]]]:
            rows = inbox.due_requests(session=session, channel=EMAIL_CHANNEL, now=now)
            return [(row.id, dict(row.data)) for row in rows]

        return read

    @staticmethod
    def _address(request: Dict[str, Any]) -> Callable[[Session], Tuple[str, Optional[str]]]:
        """The address to write to now, or why not (no contact any more, or the patient said STOP)."""

        def read(session: Session) -> Tuple[str, Optional[str]]:
            conversation = str(request.get("conversation_id") or "")
            if opted_out(session=session, conversation_ids=[conversation]):
                return "", OPTED_OUT
            contact = contact_for(session=session, conversation_id=conversation)
            if contact is None or contact.kind != "email":
                return "", NO_ADDRESS
            return str(contact.value), None

        return read

    def _try_send(self, address: str, request: Dict[str, Any]) -> Optional[str]:
        try:
            self.send(address, str(request["subject"]), str(request["text"]))
        except Exception as error:  # retried with backoff; the address never goes in the log or the row
            logger.warning("A check-in email could not be sent (%s); it is retried", type(error).__name__)
            return type(error).__name__
        return None

    @staticmethod
    def _mark(
        row_id: int, error: Optional[str], *, permanent: bool, now: datetime
    ) -> Callable[[Session], None]:
        def write(session: Session) -> None:
            if error is None:
                inbox.mark_sent(session=session, message_id=row_id, now=now)
            else:
                inbox.mark_send_failed(
                    session=session, message_id=row_id, error=error, permanent=permanent, now=now
                )

        return write
