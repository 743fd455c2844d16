"""The check-in worker on a real database with the shared outbound table: once, on time, never twice."""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta, timezone
from typing import List

import pytest
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.checkins import enrolment as enrolments
from bot.checkins.content import CheckinContent
from bot.checkins.optout import set_opted_out
from bot.checkins.service import flag_no_response
from bot.checkins.worker import NO_RESPONSE, SKIPPED_LATE, CheckinWorker
from bot.knowledge.procedures import Procedures
from bot.settings import CheckinSettings
from bot.storage import inbox
from bot.storage.checkins import ScheduledCheckin
from bot.storage.models import Flag
from bot.storage.outbound import OutboundMessage

CLINIC = {"clinic_name": "Test Clinic", "clinic_phone": "+44 20 0000 0000"}
ENROLLED_AT = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)
DAY1 = datetime(2026, 12, 2, 10, 0, tzinfo=timezone.utc)  # 10:00 in London in December
DAY3 = datetime(2026, 12, 4, 10, 0, tzinfo=timezone.utc)
DAY7 = datetime(2026, 12, 8, 10, 0, tzinfo=timezone.utc)
CONVERSATION = "twilio:+447700900123"


def _worker(factory: sessionmaker, settings: CheckinSettings, content: CheckinContent) -> CheckinWorker:
    return CheckinWorker(
        factory=factory,
        settings=settings,
        content=content,
        clinic_values=CLINIC,
        flag_no_response=flag_no_response,
    )


def _enrol(factory, settings, procedures, channel="twilio", to="+447700900123", consent="v1") -> int:  # type: ignore[no-untyped-def]
    with factory.begin() as session:
        enrolment = enrolments.enrol(
            session=session,
            request=enrolments.EnrolmentRequest(channel, to, "dermapen", date(2026, 12, 1)),
            check_in_days=procedures.check_in_days("dermapen"),
            settings=settings,
            actor="cli:nurse",
            now=ENROLLED_AT,
            consent_version=consent,
        )
        return int(enrolment.id)


def _outbound(factory: sessionmaker) -> List[OutboundMessage]:
    with factory.begin() as session:
        return list(session.execute(select(OutboundMessage).order_by(OutboundMessage.id)).scalars())


def _statuses(factory: sessionmaker) -> List[str]:
    with factory.begin() as session:
        rows = session.execute(select(ScheduledCheckin).order_by(ScheduledCheckin.day)).scalars()
        return [f"{row.day}:{row.status}" + (f":{row.reason}" if row.reason else "") for row in rows]


def test_each_check_in_goes_out_at_its_time_once(factory, london, content, procedures: Procedures) -> None:
    _enrol(factory, london, procedures)
    worker = _worker(factory, london, content)
    assert worker.run_once(DAY1 - timedelta(minutes=1)).sent == []
    assert len(worker.run_once(DAY1).sent) == 1
    assert worker.run_once(DAY1 + timedelta(minutes=5)).sent == []  # never twice
    # A restarted worker (a new instance on the same database) sends day 3 once, and only day 3.
    restarted = _worker(factory, london, content)
    assert len(restarted.run_once(DAY3 + timedelta(seconds=30)).sent) == 1
    assert restarted.run_once(DAY3 + timedelta(minutes=1)).sent == []
    assert len(_worker(factory, london, content).run_once(DAY7).sent) == 1
    sent = _outbound(factory)
    assert [row.kind for row in sent] == ["checkin"] * 3
    assert [row.conversation_id for row in sent] == [CONVERSATION] * 3
    assert ["day 1" in sent[0].text, "day 3" in sent[1].text, "day 7" in sent[2].text] == [True] * 3
    assert [b["title"] for b in json.loads(sent[0].buttons)] == [
        "All fine",
        "I have a question",
        "Something is wrong",
    ]
    assert _statuses(factory) == ["1:sent", "3:sent", "7:sent"]


def test_down_over_a_due_time_sends_once_within_grace_else_skips(
    factory, london, content, procedures, caplog: pytest.LogCaptureFixture
) -> None:
    _enrol(factory, london, procedures)
    worker = _worker(factory, london, content)
    # Back five hours after day 1 was due (grace 6 h): sent once.
    assert len(worker.run_once(DAY1 + timedelta(hours=5)).sent) == 1
    # Back seven hours after day 3 was due: skipped with a log line that names no patient.
    with caplog.at_level(logging.INFO, logger="bot.checkins.worker"):
        report = worker.run_once(DAY3 + timedelta(hours=7))
    assert report.sent == [] and report.count(SKIPPED_LATE) == 1
    assert "skipped" in caplog.text and "+447700900123" not in caplog.text
    assert _statuses(factory) == ["1:sent", "3:skipped:late", "7:scheduled"]
    assert len(_outbound(factory)) == 1


def test_nothing_without_consent_or_while_paused(factory, london, content, procedures) -> None:
    enrolment_id = _enrol(factory, london, procedures, consent=None)
    worker = _worker(factory, london, content)
    assert worker.run_once(DAY1).sent == []
    with factory.begin() as session:
        enrolment = session.get(enrolments.Enrolment, enrolment_id)
        enrolments.record_consent(
            session=session, enrolment=enrolment, actor="cli:nurse", version="v1", now=DAY1
        )
        enrolments.pause(session=session, enrolment=enrolment, now=DAY1)
    assert worker.run_once(DAY1 + timedelta(minutes=1)).sent == []
    with factory.begin() as session:
        enrolments.resume(
            session=session, enrolment=session.get(enrolments.Enrolment, enrolment_id), now=DAY1
        )
    assert len(worker.run_once(DAY1 + timedelta(minutes=2)).sent) == 1
    with factory.begin() as session:
        enrolments.cancel(
            session=session, enrolment=session.get(enrolments.Enrolment, enrolment_id), now=DAY1
        )
    assert worker.run_once(DAY7).sent == []
    assert _statuses(factory) == ["1:sent", "3:cancelled:cancelled", "7:cancelled:cancelled"]


def test_opt_out_is_honoured_by_every_later_send_and_start_resumes(
    factory, london, content, procedures
) -> None:
    _enrol(factory, london, procedures)
    worker = _worker(factory, london, content)
    with factory.begin() as session:
        set_opted_out(
            session=session, conversation_id=CONVERSATION, opted_out=True, actor="patient", now=DAY1
        )
    assert worker.run_once(DAY1).sent == []
    with factory.begin() as session:
        set_opted_out(
            session=session, conversation_id=CONVERSATION, opted_out=False, actor="patient", now=DAY1
        )
    assert len(worker.run_once(DAY3).sent) == 1
    assert _statuses(factory) == ["1:skipped:opted_out", "3:sent", "7:scheduled"]


def _inbox(factory: sessionmaker, message_id: str, text: str, status: str = inbox.INBOX_PENDING) -> None:
    with factory.begin() as session:
        entry, _ = inbox.record_delivery(
            session=session,
            channel="twilio",
            message_id=message_id,
            conversation_id=CONVERSATION,
            payload={"message_id": message_id, "sender_id": "+447700900123", "text": text},
        )
        entry.status = status


def test_a_bare_stop_still_waiting_in_the_channel_inbox_is_honoured(
    factory, london, content, procedures
) -> None:
    """Accepted just before the Rasa process went down: the channel worker has not recorded it yet."""
    _enrol(factory, london, procedures)
    _inbox(factory, "SM1", "Stop")
    assert _worker(factory, london, content).run_once(DAY1).sent == []
    assert _statuses(factory)[0] == "1:skipped:opted_out"
    _inbox(factory, "SM2", "start")  # the newest word wins
    assert len(_worker(factory, london, content).run_once(DAY3).sent) == 1


def test_a_processed_stop_counts_only_through_the_recorded_preference(
    factory, london, content, procedures
) -> None:
    """The channel worker records a STOP when it completes the entry; a START recorded later wins."""
    _enrol(factory, london, procedures)
    _inbox(factory, "SM1", "STOP", status=inbox.INBOX_DONE)
    with factory.begin() as session:
        set_opted_out(
            session=session, conversation_id=CONVERSATION, opted_out=False, actor="patient", now=DAY1
        )
    assert len(_worker(factory, london, content).run_once(DAY1).sent) == 1


def test_whatsapp_check_ins_carry_the_clinic_template(factory, content, procedures) -> None:
    settings = CheckinSettings(
        timezone="Europe/London",
        whatsapp_template="aftercare_checkin",
        whatsapp_template_language="en_GB",
        whatsapp_template_parameters=("day", "text"),
    )
    _enrol(factory, settings, procedures, channel="whatsapp", to="+447700900123")
    _worker(factory, settings, content).run_once(DAY1)
    [row] = _outbound(factory)
    template = json.loads(row.template)
    assert (row.conversation_id, template["name"], template["language"]) == (
        "whatsapp:447700900123",
        "aftercare_checkin",
        "en_GB",
    )
    assert template["parameters"][0] == "1" and template["parameters"][1] == row.text


def test_no_response_item_for_staff_after_the_last_check_in(factory, content, procedures) -> None:
    settings = CheckinSettings(timezone="Europe/London", no_response_hours=24)
    _enrol(factory, settings, procedures)
    _enrol(factory, settings, procedures, to="+447700900999")
    worker = _worker(factory, settings, content)
    for moment in (DAY1, DAY3, DAY7):
        worker.run_once(moment)
    with factory.begin() as session:  # the second patient answered after the last check-in
        entry, _ = inbox.record_delivery(
            session=session,
            channel="twilio",
            message_id="SM2",
            conversation_id="twilio:+447700900999",
            payload={"message_id": "SM2", "sender_id": "+447700900999", "text": "all fine"},
        )
        entry.received_at = DAY7 + timedelta(hours=1)
    assert worker.run_once(DAY7 + timedelta(hours=23)).count(NO_RESPONSE) == 0
    assert worker.run_once(DAY7 + timedelta(hours=25)).count(NO_RESPONSE) == 1
    assert worker.run_once(DAY7 + timedelta(hours=48)).count(NO_RESPONSE) == 0  # once
    with factory.begin() as session:
        flags = list(session.execute(select(Flag)).scalars())
    assert [(f.conversation_id, f.kind, f.level, f.rule) for f in flags] == [
        (CONVERSATION, "handoff", "handoff", "checkin_no_response")
    ]


def test_one_row_that_cannot_be_queued_does_not_hold_up_the_others(
    factory, london, content, procedures
) -> None:
    broken = _enrol(factory, london, procedures)
    _enrol(factory, london, procedures, to="+447700900999")
    with factory.begin() as session:  # a conversation id no channel can send to
        session.get(enrolments.Enrolment, broken).conversation_id = "fax:123"
    report = _worker(factory, london, content).run_once(DAY1)
    assert len(report.sent) == 1
    assert [row.conversation_id for row in _outbound(factory)] == ["twilio:+447700900999"]
    assert _statuses(factory).count("1:scheduled") == 1  # the broken one waits, to be retried
