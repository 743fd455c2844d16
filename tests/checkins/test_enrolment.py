"""Enrolment, consent, pause/cancel, opt-out words and CSV import, on a migrated database."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy.orm import sessionmaker

from bot.checkins import enrolment as enrolments
from bot.checkins.addresses import AddressError, conversation_for
from bot.checkins.optout import is_opted_out, set_opted_out
from bot.knowledge.procedures import Procedures
from bot.settings import CheckinSettings

NOW = datetime(2026, 12, 1, 15, 0, tzinfo=timezone.utc)


def _enrol(session, london: CheckinSettings, procedures: Procedures, **overrides):  # type: ignore[no-untyped-def]
    request = enrolments.EnrolmentRequest(
        overrides.get("channel", "whatsapp"),
        overrides.get("to", "+44 7700 900123"),
        "dermapen",
        date(2026, 12, 1),
    )
    return enrolments.enrol(
        session=session,
        request=request,
        check_in_days=procedures.check_in_days("dermapen"),
        settings=london,
        actor="cli:nurse",
        now=overrides.get("now", NOW),
        consent_version=overrides.get("consent", "v1"),
    )


def test_addresses_match_what_each_channel_reports() -> None:
    assert conversation_for("whatsapp", "+44 7700 900123") == "whatsapp:447700900123"
    assert conversation_for("twilio", "0044 7700-900123") == "twilio:+447700900123"
    assert conversation_for("telegram", "123456") == "telegram:123456"
    with pytest.raises(AddressError):
        conversation_for("whatsapp", "07700 900123")  # not international
    with pytest.raises(AddressError):
        conversation_for("fax", "+447700900123")


def test_enrolment_writes_schedule_and_consent(factory: sessionmaker, london, procedures) -> None:
    with factory.begin() as session:
        enrolment = _enrol(session, london, procedures)
        assert enrolment.conversation_id == "whatsapp:447700900123"
        assert (enrolment.consent_by, enrolment.consent_at, enrolment.consent_version) == (
            "cli:nurse",
            NOW,
            "v1",
        )
        assert [(c.day, c.status, c.due_at.hour) for c in enrolment.checkins] == [
            (1, "scheduled", 10),
            (3, "scheduled", 10),
            (7, "scheduled", 10),
        ]


def test_days_already_past_at_enrolment_are_skipped_not_sent(factory, london, procedures) -> None:
    late = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)
    with factory.begin() as session:
        enrolment = _enrol(session, london, procedures, now=late)
        assert [c.status for c in enrolment.checkins] == ["skipped", "scheduled", "scheduled"]


def test_reenrolment_replaces_the_previous_schedule(factory, london, procedures) -> None:
    with factory.begin() as session:
        first = _enrol(session, london, procedures)
        second = _enrol(session, london, procedures)
        assert first.status == "cancelled" and {c.status for c in first.checkins} == {"cancelled"}
        assert second.status == "active"


def test_pause_resume_cancel(factory, london, procedures) -> None:
    with factory.begin() as session:
        enrolment = _enrol(session, london, procedures)
        enrolments.pause(session=session, enrolment=enrolment, now=NOW)
        assert enrolment.status == "paused"
        enrolments.resume(session=session, enrolment=enrolment, now=NOW)
        assert enrolment.status == "active"
        enrolments.cancel(session=session, enrolment=enrolment, now=NOW)
        assert enrolment.status == "cancelled"
        assert {c.status for c in enrolment.checkins} == {"cancelled"}


def test_without_consent_nothing_is_on_record(factory, london, procedures) -> None:
    with factory.begin() as session:
        enrolment = _enrol(session, london, procedures, consent=None)
        assert not enrolment.consented
        enrolments.record_consent(
            session=session, enrolment=enrolment, actor="patient", version="v2", now=NOW
        )
        assert enrolment.consented and enrolment.consent_version == "v2"


def test_opt_out_is_recorded_and_reversible(factory) -> None:
    with factory.begin() as session:
        assert not is_opted_out(session=session, conversation_id="twilio:+447700900123")
        set_opted_out(
            session=session, conversation_id="twilio:+447700900123", opted_out=True, actor="patient", now=NOW
        )
        assert is_opted_out(session=session, conversation_id="twilio:+447700900123")
        set_opted_out(
            session=session, conversation_id="twilio:+447700900123", opted_out=False, actor="patient", now=NOW
        )
        assert not is_opted_out(session=session, conversation_id="twilio:+447700900123")


def test_csv_import_checks_every_line_first(procedures: Procedures) -> None:
    good = (
        "channel,address,procedure,date,consent\n"
        "whatsapp,+447700900123,dermapen,2026-12-01,yes\ntelegram,42,,2026-12-02,\n"
    )
    rows = enrolments.read_csv(good, procedures.ids)
    assert [(r.line, r.request.procedure, r.consent) for r in rows] == [
        (2, "dermapen", True),
        (3, None, False),
    ]
    with pytest.raises(enrolments.EnrolmentError, match="line 3: unknown procedure"):
        enrolments.read_csv(good.replace(",,2026-12-02", ",laser,2026-12-02"), procedures.ids)
    with pytest.raises(enrolments.EnrolmentError, match="line 2"):
        enrolments.read_csv(good.replace("+447700900123", "0770"), procedures.ids)
    with pytest.raises(enrolments.EnrolmentError, match="header"):
        enrolments.read_csv("who,when\n", procedures.ids)
