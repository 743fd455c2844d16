"""Deadline test fixtures: a fresh database (SQLite and PostgreSQL), a real webhook receiver, a policy."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Iterator, Optional

import pytest
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from bot.alerts.config import AlertConfig
from bot.deadlines.worker import DeadlineContext
from bot.knowledge.deadline_policy import CLOCK_OPENING_HOURS, DeadlinePolicy, Recipient, Target, parse_policy
from bot.storage import make_engine, make_session_factory
from bot.storage.flags import raise_flag
from bot.storage.models import Base
from bot.storage.outbox import RetryPolicy
from tests.alerts.conftest import WebhookReceiver, webhook  # noqa: F401  (the real receiver fixture)
from tests.database_fixtures import cheap_password_hashing, database_url, postgres_server  # noqa: F401

# A Wednesday, 10:00 in London (BST, UTC+1): the example clinic is open.
T0 = datetime(2024, 5, 1, 9, 0, tzinfo=timezone.utc)
CLINIC_VALUES = {
    "clinic_name": "Test Clinic",
    "clinic_phone": "+44 20 7946 0999",
    "emergency_number": "999",
    "opening_hours": "Monday to Friday 9:00 to 18:00",
    "out_of_hours": "Outside opening hours, call NHS 111 for urgent medical advice.",
}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:  # noqa: F811
    engine = make_engine(database_url)
    Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def session_factory(engine: Engine) -> sessionmaker:
    return make_session_factory(engine)


def short_policy(url: str, hours: Optional[dict] = None) -> DeadlinePolicy:
    """Short targets (30 s urgent, 10 s emergency, 60 s opening-hours hand-off), a 2-step chain, on-call."""
    base = parse_policy("Europe/London", hours or {}, None)
    return DeadlinePolicy(
        hours=base.hours,
        targets={
            "emergency": Target(timedelta(seconds=10), timedelta(seconds=10)),
            "urgent": Target(timedelta(seconds=30), timedelta(seconds=30)),
            "routine": Target(timedelta(seconds=60), timedelta(seconds=60), CLOCK_OPENING_HOURS),
            "handoff": Target(timedelta(seconds=60), timedelta(seconds=60), CLOCK_OPENING_HOURS),
        },
        chain=(
            Recipient("Duty nurse", "webhook", url + "?to=nurse"),
            Recipient("Lead", "webhook", url + "?to=lead"),
        ),
        on_call=(Recipient("On-call doctor", "webhook", url + "?to=oncall"),),
    )


def make_context(url: str, hours: Optional[dict] = None) -> DeadlineContext:
    alerts = AlertConfig(dashboard_url="https://dashboard.example", timeout_seconds=5)
    return DeadlineContext(
        policy=short_policy(url, hours),
        clinic_values=CLINIC_VALUES,
        alerts=alerts,
        claim=timedelta(seconds=60),
        retry=RetryPolicy(max_attempts=3, base_delay=timedelta(seconds=5)),
    )


def add_flag(
    factory: sessionmaker,
    level: str = "urgent",
    *,
    conversation_id: str = "telegram:4242",
    now: datetime = T0,
    rule: Optional[str] = None,
) -> int:
    kind = "triage" if level in ("emergency", "urgent", "routine") else level
    with factory.begin() as session:
        flag = raise_flag(
            session=session,
            conversation_id=conversation_id,
            channel=conversation_id.split(":")[0],
            channel_user_id=conversation_id.split(":")[-1],
            level=level,
            kind=kind,
            reason=f"{level} symptoms",
            rule=rule or f"rule_{level}",
            matched_text="fever",
            message="I have a fever of 39",
            now=now,
        )
        return int(flag.id)
