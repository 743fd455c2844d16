"""Check-ins to widget patients who left a contact: by SMS (Twilio fake) or email (a real local SMTP server).

The worker is the real one on a migrated SQLite database with an injected clock; the SMS goes
out through the real Twilio connector and dispatcher pointed at the local provider fake, the
email through the real SMTP client to the alerts tests' aiosmtpd receiver.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import date
from typing import Any, Dict, List

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.channels.dispatch import Assistant, Inbound
from bot.checkins import enrolment as enrolments
from bot.checkins.content import CheckinContent
from bot.checkins.delivery import EMAIL_CHANNEL, ContactSenders, EmailOutbox
from bot.checkins.optout import set_opted_out
from bot.checkins.service import email_sender
from bot.checkins.worker import CheckinWorker
from bot.knowledge.procedures import Procedures
from bot.settings import AlertSettings, CheckinSettings, Settings
from bot.storage import inbox
from bot.storage.contacts import save_contact
from bot.storage.outbound import OutboundMessage
from tests.channels.fake_providers import FakeProviders, twilio_texts
from tests.channels.test_dispatch import FakeRasa
from tests.channels.test_outbound import connector
from tests.checkins.test_worker import CLINIC as WORKER_CLINIC
from tests.checkins.test_worker import DAY1, DAY3, ENROLLED_AT

WIDGET = "widget:session-abc"
PHONE = "+447700900888"
EMAIL = "patient.one@example.org"
CLINIC = {**WORKER_CLINIC, "emergency_number": "999"}


def _enrol_widget(
    factory: sessionmaker, settings: CheckinSettings, procedures: Procedures, kind: str, value: str
) -> None:
    with factory.begin() as session:
        enrolments.enrol(
            session=session,
            request=enrolments.EnrolmentRequest(
                "widget", "", "dermapen", date(2026, 12, 1), conversation_id=WIDGET
            ),
            check_in_days=procedures.check_in_days("dermapen"),
            settings=settings,
            actor="patient",
            now=ENROLLED_AT,
            consent_version="v1",
        )
        save_contact(session=session, conversation_id=WIDGET, kind=kind, value=value, now=ENROLLED_AT)


def _outbound(factory: sessionmaker) -> List[OutboundMessage]:
    with factory.begin() as session:
        return list(session.execute(select(OutboundMessage).order_by(OutboundMessage.id)).scalars())


def _worker(
    factory: sessionmaker, settings: CheckinSettings, content: CheckinContent, **extra: Any
) -> CheckinWorker:
    return CheckinWorker(factory=factory, settings=settings, content=content, clinic_values=CLINIC, **extra)


def test_without_a_sender_the_widget_shows_the_check_in_on_the_next_visit(
    factory, london, content, procedures
) -> None:
    _enrol_widget(factory, london, procedures, "phone", PHONE)
    _worker(factory, london, content).run_once(DAY1)
    assert [row.conversation_id for row in _outbound(factory)] == [WIDGET]


def test_a_widget_patients_phone_gets_the_check_in_by_sms_and_an_sms_stop_ends_them(
    factory, engine, london, content, procedures
) -> None:
    fake = FakeProviders().start()
    try:
        _enrol_widget(factory, london, procedures, "phone", PHONE)
        worker = _worker(factory, london, content, senders=ContactSenders(sms=True))
        assert len(worker.run_once(DAY1).sent) == 1
        assert [row.conversation_id for row in _outbound(factory)] == [f"twilio:{PHONE}"]

        url = str(engine.url)
        twilio = connector("twilio", fake, url)
        asyncio.run(twilio.dispatcher.send_outbound())
        assert [text for text in twilio_texts(fake, PHONE) if "day 1 check-in" in text] != []

        # The patient answers STOP by SMS: that conversation's opt-out stops the widget enrolment's texts.
        async def stop() -> None:
            await twilio.dispatcher.accept([Inbound("SMstop", PHONE, text="STOP")], Assistant(FakeRasa()))
            await twilio.dispatcher.drain()

        asyncio.run(stop())
        report = worker.run_once(DAY3)
        assert report.sent == [] and report.count("opted_out") == 1
        assert len(_outbound(factory)) == 1
    finally:
        fake.stop()


def _email_settings(smtp: Dict[str, Any]) -> Settings:
    return dataclasses.replace(
        Settings(),
        alerts=AlertSettings(
            smtp_host=smtp["host"], smtp_port=smtp["port"], smtp_from="alerts@clinic.example"
        ),
        checkins=CheckinSettings(timezone="Europe/London", email_from="Test Clinic <care@clinic.example>"),
    )


def _emailing_worker(factory, london, content, procedures, smtp: Dict[str, Any]) -> CheckinWorker:  # type: ignore[no-untyped-def]
    """A widget patient who left an email address, and a worker that emails through ``smtp``."""
    _enrol_widget(factory, london, procedures, "email", EMAIL)
    send = email_sender(_email_settings(smtp))
    assert send is not None
    return _worker(
        factory, london, content, senders=ContactSenders(email=True), emails=EmailOutbox(factory, send)
    )


def test_a_widget_patients_email_gets_the_check_in_once_and_no_more_than_it(
    factory,
    london,
    content,
    procedures,
    smtp_server,
    caplog: pytest.LogCaptureFixture,
) -> None:
    worker = _emailing_worker(factory, london, content, procedures, smtp_server)
    sink = smtp_server["sink"]
    smtp_server["sink"].refuse_next = 1  # the first attempt fails: retried, and logged without the address
    with caplog.at_level(logging.INFO):
        first = worker.run_once(DAY1)
    assert len(first.sent) == 1 and sink.messages == []
    ours = [record.getMessage() for record in caplog.records if record.name.startswith("bot.")]
    assert ours and not [line for line in ours if EMAIL in line]  # the receiver's own log is not ours
    with factory.begin() as session:
        [row] = session.execute(
            select(inbox.OutboxMessage).where(inbox.OutboxMessage.channel == EMAIL_CHANNEL)
        ).scalars()
        assert EMAIL not in row.request + (row.last_error or "")
        row.next_attempt_at = DAY1  # due again
    worker.run_once(DAY1)
    worker.run_once(DAY1)  # never twice
    [message] = sink.messages
    assert sink.envelopes == [[EMAIL]]
    assert message["From"] == "Test Clinic <care@clinic.example>"
    assert message["Subject"] == "A message from Test Clinic"
    body = message.get_payload(decode=True).decode()
    assert "day 1 check-in" in body and "STOP" in body
    for private in ("session-abc", "dermapen", "Dermapen", "2026-12-01", "widget"):
        assert private not in body
    # The check-in also waits in the chat, where the patient answers.
    assert [row.conversation_id for row in _outbound(factory)] == [WIDGET]


def test_no_email_after_the_patient_said_stop_in_the_chat(
    factory, london, content, procedures, smtp_server
) -> None:
    worker = _emailing_worker(factory, london, content, procedures, smtp_server)
    with factory.begin() as session:
        set_opted_out(session=session, conversation_id=WIDGET, opted_out=True, actor="patient", now=DAY1)
    assert worker.run_once(DAY1).sent == []
    assert smtp_server["sink"].messages == []


def test_email_needs_both_the_smtp_server_and_the_clinics_sender() -> None:
    assert email_sender(Settings()) is None
    only_smtp = dataclasses.replace(
        Settings(), alerts=AlertSettings(smtp_host="127.0.0.1", smtp_from="a@b.example")
    )
    assert email_sender(only_smtp) is None
