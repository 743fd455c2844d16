"""Build the check-in worker for a process from its settings, and run it (``aftercare checkins``).

The clock is ``utcnow`` in real use. Only in the ``test`` environment may
``AFTERCARE_CHECKIN_CLOCK_FILE`` (``settings.checkins.clock_file``) name a file holding an ISO
time that the supervised worker reads as "now" each round: the end-to-end tests move that
clock over days instead of sleeping.
"""

from __future__ import annotations

import dataclasses
import sys
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Callable, Dict, List, Optional

import yaml
from sqlalchemy.orm import Session

from bot.alerts.config import AlertConfig
from bot.alerts.message import AlertMessage
from bot.alerts.senders import send_email
from bot.checkins.content import CheckinContent, load_content
from bot.checkins.delivery import ContactSenders, EmailOutbox, SendEmail
from bot.checkins.worker import NO_RESPONSE_RULE, CheckinWorker
from bot.settings import Settings
from bot.storage import make_engine, make_session_factory
from bot.storage.checkins import Enrolment
from bot.storage.db import utcnow
from bot.storage.flags import raise_flag
from bot.storage.vocabulary import FlagKind

MESSAGES_FILE = Path(__file__).with_name("messages.yml")


@lru_cache(maxsize=1)
def staff_texts() -> Dict[str, str]:
    """The sentences staff read about check-ins."""
    return dict(yaml.safe_load(MESSAGES_FILE.read_text(encoding="utf-8")))


def flag_no_response(session: Session, enrolment: Enrolment, now: datetime) -> None:
    """Put a low-priority item in the staff queue: the patient never answered the check-ins."""
    texts = staff_texts()
    channel, _, sender = enrolment.conversation_id.partition(":")
    raise_flag(
        session=session,
        conversation_id=enrolment.conversation_id,
        channel=channel,
        level=FlagKind.HANDOFF.value,  # hand-off items carry their kind as level: the lowest priority
        kind=FlagKind.HANDOFF.value,
        reason=texts["no_response_reason"],
        rule=NO_RESPONSE_RULE,
        matched_text="",
        message=texts["no_response_message"],
        channel_user_id=sender or None,
        now=now,
    )


def clinic_values() -> Dict[str, str]:
    """The clinic's placeholder values for the check-in texts."""
    from bot.knowledge import get_clinic_settings

    return get_clinic_settings().as_template_values()


def content_for(settings: Settings) -> CheckinContent:
    """The check-in texts of this installation."""
    return load_content(settings.knowledge_dir)


def email_sender(settings: Settings) -> Optional[SendEmail]:
    """Send check-in emails through the alerts' SMTP server, from the clinic's check-in address.

    None unless both are configured (``AFTERCARE_SMTP_HOST``, ``AFTERCARE_CHECKIN_EMAIL_FROM``).
    """
    config = AlertConfig.from_settings(settings)
    sender = settings.checkins.email_from
    if not (config.smtp_host and sender):
        return None
    config = dataclasses.replace(config, smtp_from=sender)

    def send(address: str, subject: str, text: str) -> None:
        send_email(dataclasses.replace(config, recipients=(address,)), AlertMessage(subject, text, {}))

    return send


def build_worker(settings: Settings, *, sms: bool = False) -> CheckinWorker:
    """A worker on the configured database, with the configured texts, clinic and senders.

    ``sms``: the Twilio channel is configured, so a widget patient's phone number can be texted.
    """
    factory = make_session_factory(make_engine(settings.database_url))
    send = email_sender(settings)
    return CheckinWorker(
        factory=factory,
        settings=settings.checkins,
        content=content_for(settings),
        clinic_values=clinic_values(),
        flag_no_response=flag_no_response,
        senders=ContactSenders(sms=sms, email=send is not None),
        emails=EmailOutbox(factory, send) if send is not None else None,
    )


def clock_for(settings: Settings) -> Callable[[], datetime]:
    """The worker's clock: the real one, or (test environment only) the time in the clock file."""
    path = settings.checkins.clock_file
    if path is None or settings.environment != "test":
        return utcnow

    def read() -> datetime:
        text = path.read_text(encoding="utf-8").strip() if path.exists() else ""
        return datetime.fromisoformat(text) if text else utcnow()

    return read


def worker_command(settings: Settings) -> List[str]:
    """How ``aftercare run`` starts the supervised check-in worker."""
    return [sys.executable, "-m", "bot.cli", "checkins", "run"]
