"""WhatsApp with the 24-hour window closed: the approved template carries the check-in, and only once.

The real check-in worker queues the check-in; the real WhatsApp connector and dispatcher send it
to the local Graph API fake. The patient must not read the check-in twice (template, then the
held plain copy once they write); a staff reply keeps the hold-and-follow behaviour.
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta
from typing import Any, List, Tuple

from bot.checkins import enrolment as enrolments
from bot.checkins.worker import CheckinWorker
from bot.settings import CheckinSettings
from bot.storage import outbound
from tests.channels.fake_providers import FakeProviders, whatsapp_texts
from tests.channels.test_outbound import connector, patient_wrote, queue, row
from tests.checkins.test_worker import CLINIC, DAY1, ENROLLED_AT

SENDER = "447700900555"


def _calls(fake: FakeProviders) -> List[Any]:
    return fake.matching(lambda c: c.path.startswith("/graph/") and (c.body or {}).get("to") == SENDER)


def _check_in_day_1(factory, content, procedures, parameters) -> int:  # type: ignore[no-untyped-def]
    settings = CheckinSettings(
        timezone="Europe/London",
        whatsapp_template="aftercare_checkin",
        whatsapp_template_parameters=parameters,
    )
    with factory.begin() as session:
        enrolments.enrol(
            session=session,
            request=enrolments.EnrolmentRequest("whatsapp", f"+{SENDER}", "dermapen", date(2026, 12, 1)),
            check_in_days=procedures.check_in_days("dermapen"),
            settings=settings,
            actor="cli:nurse",
            now=ENROLLED_AT,
            consent_version="v1",
        )
    worker = CheckinWorker(factory=factory, settings=settings, content=content, clinic_values=CLINIC)
    assert len(worker.run_once(DAY1).sent) == 1
    with factory.begin() as session:
        [checkin] = outbound.for_conversation(session=session, conversation_id=f"whatsapp:{SENDER}")
        return int(checkin.id)


def _sent_in_a_closed_window(fake, engine, factory, content, procedures, parameters) -> Tuple[str, int]:  # type: ignore[no-untyped-def]
    """The patient last wrote 30 hours ago; day 1's check-in is queued and the dispatcher runs once."""
    url = str(engine.url)
    patient_wrote(engine, "whatsapp", SENDER, ago=timedelta(hours=30))
    checkin = _check_in_day_1(factory, content, procedures, parameters)
    asyncio.run(connector("whatsapp", fake, url).dispatcher.send_outbound())
    return url, checkin


def test_a_template_carrying_the_check_in_is_not_followed_by_the_plain_copy(
    fake, engine, factory, content, procedures
) -> None:
    url, checkin = _sent_in_a_closed_window(fake, engine, factory, content, procedures, ("text",))
    [template] = _calls(fake)
    assert template.body["type"] == "template"
    [text] = template.body["template"]["components"][0]["parameters"]
    assert "day 1 check-in" in text["text"]
    assert row(engine, checkin).status == outbound.STATUS_SENT

    # A staff reply in the same closed window is still held behind the clinic's reply template.
    staff = queue(engine, f"whatsapp:{SENDER}", "A word from the nurse", key="staff:1")
    asyncio.run(connector("whatsapp", fake, url).dispatcher.send_outbound())
    patient_wrote(engine, "whatsapp", SENDER)
    asyncio.run(connector("whatsapp", fake, url).dispatcher.send_outbound())

    assert [c.body["type"] for c in _calls(fake)] == ["template", "template", "text"]
    assert whatsapp_texts(fake, SENDER) == ["A word from the nurse"]
    assert not [c for c in _calls(fake)[1:] if "day 1 check-in" in json.dumps(c.body)]
    assert row(engine, staff).status == outbound.STATUS_SENT


def test_a_template_with_only_the_day_still_lets_the_check_in_follow(
    fake, engine, factory, content, procedures
) -> None:
    url, checkin = _sent_in_a_closed_window(fake, engine, factory, content, procedures, ("day",))
    assert row(engine, checkin).status == outbound.STATUS_QUEUED
    patient_wrote(engine, "whatsapp", SENDER)
    asyncio.run(connector("whatsapp", fake, url).dispatcher.send_outbound())
    sent = [json.dumps(c.body) for c in _calls(fake)]
    assert len(sent) == 2 and "day 1 check-in" not in sent[0] and "day 1 check-in" in sent[1]
    assert row(engine, checkin).status == outbound.STATUS_SENT
