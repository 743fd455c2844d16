"""Check-ins end to end: the real servers, the supervised worker, local provider fakes, a movable clock.

The worker started by ``aftercare run``'s service list reads "now" from a clock file (test
environment only), so the test walks the calendar from the treatment to day 7 without sleeping.
Enrolment by the CLI (Twilio SMS) and in chat (Telegram); the worker is killed between day 1 and
day 3, and frozen over a due time, and still sends each check-in exactly once (or skips it past
the grace period).
"""

from __future__ import annotations

import itertools
import json
import os
import random
import signal
import subprocess
import sys
import uuid
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Dict, Iterator, List, Optional
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.storage import make_engine, make_session_factory
from bot.storage.checkins import Enrolment, ScheduledCheckin
from tests.channels.conftest import (
    PUBLIC_URL,
    SECRETS,
    ChannelStack,
    flags_of,
    rendered_response,
    wait_until,
)
from tests.channels.fake_providers import ClinicWebsite, FakeProviders, telegram_texts, twilio_texts
from tests.channels.payloads import telegram_text, twilio_form, twilio_signed
from tests.stack import start_stack

pytestmark = pytest.mark.slow

ZONE = "Europe/Berlin"  # 10:00 local is 09:00 UTC in December: local time, not UTC, decides
TWILIO_PATH = "/webhooks/twilio/webhook"
TELEGRAM_PATH = "/webhooks/telegram/webhook"
_updates = itertools.count(random.randint(10_000, 10_000_000) * 100)


class Clock:
    """The worker's "now", in a file it reads every round."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def set(self, moment: datetime) -> None:
        self.path.write_text(moment.isoformat(), encoding="utf-8")


@pytest.fixture(scope="module")
def live(
    trained_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[ChannelStack, Clock]]:
    fake = FakeProviders().start()
    site = ClinicWebsite().start()
    var_dir = tmp_path_factory.mktemp("checkins")
    clock = Clock(var_dir / "clock.txt")
    clock.set(datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc))
    env = {
        **SECRETS,
        "AFTERCARE_ENV": "test",
        "AFTERCARE_WHATSAPP_API_BASE": f"{fake.url}/graph",
        "AFTERCARE_TELEGRAM_API_BASE": f"{fake.url}/telegram",
        "AFTERCARE_TWILIO_API_BASE": f"{fake.url}/twilio",
        "AFTERCARE_PUBLIC_URL": PUBLIC_URL,
        "AFTERCARE_WIDGET_ORIGINS": site.origin,
        "AFTERCARE_TIMEZONE": ZONE,
        "AFTERCARE_CHECKIN_SEND_TIME": "10:00",
        "AFTERCARE_CHECKIN_GRACE_HOURS": "6",
        "AFTERCARE_CHECKIN_POLL_SECONDS": "1",
        "AFTERCARE_CHECKIN_CLOCK_FILE": str(clock.path),
    }
    try:
        stack = start_stack(trained_model, var_dir, extra_env=env, timeout=400)
    except Exception:
        fake.stop()
        site.stop()
        raise
    channels = ChannelStack(stack=stack, fake=fake, clinic_site=site, secrets=SECRETS, credentials=var_dir)
    try:
        yield channels, clock
    finally:
        stack.stop()
        fake.stop()
        site.stop()


def _schedule(database_url: str, conversation: str) -> Dict[int, ScheduledCheckin]:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            rows = session.execute(
                select(ScheduledCheckin)
                .join(Enrolment, Enrolment.id == ScheduledCheckin.enrolment_id)
                .where(Enrolment.conversation_id == conversation, Enrolment.status != "cancelled")
            ).scalars()
            return {row.day: row for row in rows}
    finally:
        engine.dispose()


def _consent(database_url: str, conversation: str) -> List[tuple]:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            rows = session.execute(
                select(Enrolment).where(Enrolment.conversation_id == conversation)
            ).scalars()
            return [(row.consent_by, row.consent_version, row.status) for row in rows]
    finally:
        engine.dispose()


def _worker_pid(channels: ChannelStack) -> Optional[int]:
    """The running check-in worker's process id (None while the supervisor restarts it)."""
    [service] = [s for s in channels.stack.supervisor.services if s.name == "checkins"]
    if service.process is None or service.process.poll() is not None:
        return None
    return int(service.process.pid)


def _checkins(texts: List[str], day: int) -> List[str]:
    return [text for text in texts if f"day {day} check-in" in text]


def _twilio(channels: ChannelStack, patient: str, body: str) -> None:
    fields = twilio_form("SM" + uuid.uuid4().hex, patient, body)
    data, headers = twilio_signed(PUBLIC_URL + TWILIO_PATH, fields, SECRETS["AFTERCARE_TWILIO_AUTH_TOKEN"])
    assert channels.post(TWILIO_PATH, data, headers)[0] == 200


def _telegram(channels: ChannelStack, chat: int, text: str) -> None:
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": SECRETS["AFTERCARE_TELEGRAM_SECRET_TOKEN"],
    }
    update = telegram_text(next(_updates), chat, text)
    assert channels.post(TELEGRAM_PATH, json.dumps(update).encode(), headers)[0] == 200


def test_enrol_check_in_on_days_1_3_7_escalate_a_reply_and_stop(live) -> None:  # type: ignore[no-untyped-def]
    channels, clock = live
    patient = f"+4477009{random.randint(10_000, 99_999)}"
    conversation = f"twilio:{patient}"
    # Enrolment runs on the real clock: a treatment tomorrow keeps every check-in in the future.
    treated = (datetime.now(timezone.utc) + timedelta(days=1)).date()
    enrolled = subprocess.run(
        [sys.executable, "-m", "bot.cli", "patients", "enroll", "--channel", "twilio", "--to", patient]
        + ["--procedure", "dermapen", "--date", treated.isoformat(), "--consent"],
        env=channels.stack.env,
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=True,
    )
    day = {n: treated + timedelta(days=n) for n in (1, 3, 7)}
    assert f"day 1: {day[1].isoformat()} 10:00 scheduled" in enrolled.stdout  # clinic local time
    assert patient not in enrolled.stdout  # masked
    due = {n: datetime.combine(day[n], time(10, 0), tzinfo=ZoneInfo(ZONE)) for n in (1, 3, 7)}
    schedule = _schedule(channels.stack.database_url, conversation)
    assert {n: row.due_at for n, row in schedule.items()} == due

    clock.set(due[1] + timedelta(seconds=30))
    wait_until(lambda: _checkins(twilio_texts(channels.fake, patient), 1))

    # A restart between enrolment and day 3: the supervisor brings the worker back.
    old = _worker_pid(channels)
    assert old is not None
    os.kill(old, signal.SIGKILL)
    wait_until(lambda: _worker_pid(channels) not in (None, old))

    clock.set(due[3] + timedelta(seconds=30))
    wait_until(lambda: _checkins(twilio_texts(channels.fake, patient), 3))

    _twilio(channels, patient, "my face is hot and there is pus")
    escalations = {rendered_response(name) for name in ("utter_escalate_urgent", "utter_escalate_emergency")}
    wait_until(lambda: escalations & set(twilio_texts(channels.fake, patient)))
    wait_until(
        lambda: [f for f in flags_of(channels.stack.database_url, conversation) if f["kind"] == "triage"]
    )

    _twilio(channels, patient, "STOP")
    wait_until(lambda: rendered_response("utter_checkin_opted_out") in twilio_texts(channels.fake, patient))
    # Answered by the channel worker before the classifier: no turn in Rasa for it.
    assert "STOP" not in [event.get("text") for event in channels.user_events(conversation)]

    clock.set(due[7] + timedelta(seconds=30))
    wait_until(lambda: _schedule(channels.stack.database_url, conversation)[7].status == "skipped")
    assert _schedule(channels.stack.database_url, conversation)[7].reason == "opted_out"
    texts = twilio_texts(channels.fake, patient)
    assert [len(_checkins(texts, day)) for day in (1, 3, 7)] == [1, 1, 0]
    assert len([f for f in flags_of(channels.stack.database_url, conversation) if f["kind"] == "triage"]) == 1


def test_chat_enrolment_and_a_worker_down_over_due_times(live) -> None:  # type: ignore[no-untyped-def]
    channels, clock = live
    chat = random.randint(100_000_000, 999_999_999)
    conversation = f"telegram:{chat}"
    clock.set(datetime.now(timezone.utc))  # "yesterday" in chat is the real yesterday
    _telegram(channels, chat, "I had a Dermapen treatment yesterday")
    wait_until(
        lambda: rendered_response("utter_ask_checkin_consent") in telegram_texts(channels.fake, str(chat))
    )
    _telegram(channels, chat, "yes")
    wait_until(
        lambda: (
            rendered_response("utter_checkin_consent_recorded") in telegram_texts(channels.fake, str(chat))
        )
    )
    [(who, version, status)] = _consent(channels.stack.database_url, conversation)
    assert (who, status) == ("patient", "active") and version

    schedule = _schedule(channels.stack.database_url, conversation)
    day3, day7 = schedule[3].due_at, schedule[7].due_at
    pid = _worker_pid(channels)
    assert pid is not None
    # Down over day 3's due time, back two hours later (grace: six): sent once.
    os.kill(pid, signal.SIGSTOP)
    try:
        clock.set(day3 + timedelta(hours=2))
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: _checkins(telegram_texts(channels.fake, str(chat)), 3))
    # Down over day 7's due time, back seven hours later: skipped, not sent late.
    os.kill(pid, signal.SIGSTOP)
    try:
        clock.set(day7 + timedelta(hours=7))
    finally:
        os.kill(pid, signal.SIGCONT)
    wait_until(lambda: _schedule(channels.stack.database_url, conversation)[7].status == "skipped")
    assert _schedule(channels.stack.database_url, conversation)[7].reason == "late"
    texts = telegram_texts(channels.fake, str(chat))
    assert [len(_checkins(texts, day)) for day in (3, 7)] == [1, 0]
    assert str(chat) not in channels.stack.log.getvalue()  # no patient ids in the logs


def test_a_later_yes_enrols_nobody_and_a_stop_with_a_symptom_escalates(live) -> None:  # type: ignore[no-untyped-def]
    channels, clock = live
    chat = random.randint(100_000_000, 999_999_999)
    conversation = f"telegram:{chat}"
    clock.set(datetime.now(timezone.utc))

    def texts() -> List[str]:
        return telegram_texts(channels.fake, str(chat))

    _telegram(channels, chat, "I had a Dermapen treatment yesterday")
    wait_until(lambda: rendered_response("utter_ask_checkin_consent") in texts())
    before = len(texts())
    _telegram(channels, chat, "can I wear makeup?")
    wait_until(lambda: len(texts()) > before)
    _telegram(channels, chat, "yes")
    wait_until(lambda: rendered_response("utter_affirm") in texts())
    assert _consent(channels.stack.database_url, conversation) == []
    assert rendered_response("utter_checkin_consent_recorded") not in texts()

    _telegram(channels, chat, "stop, my face is swelling and I have a fever")
    escalations = {rendered_response(name) for name in ("utter_escalate_urgent", "utter_escalate_emergency")}
    wait_until(lambda: escalations & set(texts()))
    wait_until(
        lambda: [f for f in flags_of(channels.stack.database_url, conversation) if f["kind"] == "triage"]
    )
    assert "stop, my face is swelling and I have a fever" in [
        event.get("text") for event in channels.user_events(conversation)
    ]
