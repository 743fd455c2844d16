"""The dashboard's Patients page: enrol with consent, see the schedule, pause and cancel, all audited."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from bot.storage.checkins import Enrolment
from bot.storage.models import AuditEntry
from tests.dashboard.conftest import (  # noqa: F401 - fixtures shared with the dashboard tests
    app,
    auth,
    client,
    engine,
    session_factory,
    settings,
    staff_accounts,
)

# Treated tomorrow (the dashboard uses the real clock), so every check-in is still to come.
TOMORROW = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
FORM = {"channel": "twilio", "address": "+44 7700 900123", "procedure": "dermapen", "date": TOMORROW}


def test_staff_enrol_a_patient_with_consent_and_see_the_schedule(auth, session_factory) -> None:  # noqa: F811
    auth.login("nurse")
    page = auth.client.get("/patients").get_data(as_text=True)
    assert "Enrol a patient" in page and "reply STOP" in page  # the consent wording to read out
    response = auth.post("/patients", {**FORM, "consent": "yes"})
    assert response.status_code == 302
    detail = auth.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "recorded by staff:nurse" in detail
    assert len(re.findall(r"<td>scheduled</td>", detail)) == 3
    assert "+447700900123" not in detail and "7700 900123" not in detail  # masked
    with session_factory.begin() as session:
        [enrolment] = session.execute(select(Enrolment)).scalars()
        assert (enrolment.conversation_id, enrolment.consent_by) == ("twilio:+447700900123", "staff:nurse")
        actions = [e.action for e in session.execute(select(AuditEntry)).scalars()]
    assert "checkins.enrol" in actions


def test_without_consent_the_page_says_nothing_is_sent(auth) -> None:  # noqa: F811
    auth.login("nurse")
    response = auth.post("/patients", FORM)
    detail = auth.client.get(response.headers["Location"]).get_data(as_text=True)
    assert "not recorded: nothing is sent" in detail


def test_bad_input_is_refused_with_the_reason(auth) -> None:  # noqa: F811
    auth.login("nurse")
    assert auth.post("/patients", {**FORM, "address": "0770"}).status_code == 400
    assert auth.post("/patients", {**FORM, "procedure": "laser"}).status_code == 400
    page = auth.post("/patients", {**FORM, "date": "yesterday"})
    assert page.status_code == 400 and "2026-12-01" in page.get_data(as_text=True)


def test_pause_resume_and_cancel(auth, session_factory) -> None:  # noqa: F811
    auth.login("nurse")
    location = auth.post("/patients", {**FORM, "consent": "yes"}).headers["Location"]
    for action, state in (("pause", "paused"), ("resume", "active"), ("cancel", "cancelled")):
        assert auth.post(f"{location}/{action}").status_code == 302
        with session_factory.begin() as session:
            [enrolment] = session.execute(select(Enrolment)).scalars()
            assert enrolment.status == state
    detail = auth.client.get(location).get_data(as_text=True)
    assert len(re.findall(r"<td>cancelled \(cancelled\)</td>", detail)) == 3


def test_the_page_needs_a_login(client) -> None:  # noqa: F811
    response = client.get("/patients")
    assert response.status_code in (302, 401) and "/login" in response.headers.get("Location", "/login")
