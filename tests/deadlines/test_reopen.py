"""A reopened flag gets its response-time clock again, counted from the reopening (issue 11 doubt)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import List

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.deadlines.worker import run_once
from bot.storage import flags
from bot.storage.deadline_models import FlagDeadline
from bot.storage.models import Flag
from bot.storage.outbound import OutboundMessage
from tests.alerts.conftest import WebhookReceiver
from tests.deadlines.conftest import T0, add_flag, make_context


def _recipients(webhook: WebhookReceiver) -> List[str]:
    return [body["aftercare"]["recipient"] for body in webhook.bodies]


def _fallbacks(factory: sessionmaker) -> int:
    with factory.begin() as session:
        rows = session.execute(select(OutboundMessage).where(OutboundMessage.kind == "fallback")).scalars()
        return len(list(rows))


def _resolve_then_reopen(factory: sessionmaker, flag_id: int, resolved: datetime, reopened: datetime) -> None:
    with factory.begin() as session:
        flag = session.get(Flag, flag_id)
        flags.resolve(session=session, flag=flag, by="nurse", outcome="contacted_patient", now=resolved)
    with factory.begin() as session:
        flags.reopen(session=session, flag=session.get(Flag, flag_id), now=reopened)


def test_a_reopened_flag_runs_its_target_again_from_the_reopening(session_factory, webhook):
    context = make_context(webhook.url)  # urgent: 30 s, chain nurse then lead
    flag_id = add_flag(session_factory, "urgent")
    run_once(session_factory, context, now=T0 + timedelta(seconds=31))
    assert _recipients(webhook) == ["Duty nurse"] and _fallbacks(session_factory) == 1

    # Resolved, the worker sees it (the clock stops), and reopened an hour later.
    reopened = T0 + timedelta(hours=1)
    with session_factory.begin() as session:
        flags.resolve(
            session=session,
            flag=session.get(Flag, flag_id),
            by="nurse",
            outcome="contacted_patient",
            now=T0 + timedelta(seconds=40),
        )
    run_once(session_factory, context, now=T0 + timedelta(seconds=45))
    with session_factory.begin() as session:
        flags.reopen(session=session, flag=session.get(Flag, flag_id), now=reopened)

    # Before the target has passed again: nobody is alerted.
    quiet = run_once(session_factory, context, now=reopened + timedelta(seconds=20))
    assert quiet.escalated == [] and _recipients(webhook) == ["Duty nurse"]
    # Missed again: the chain is alerted again from its start, and the patient told again, once.
    run_once(session_factory, context, now=reopened + timedelta(seconds=31))
    run_once(session_factory, context, now=reopened + timedelta(seconds=32))
    assert _recipients(webhook) == ["Duty nurse", "Duty nurse"]
    assert _fallbacks(session_factory) == 2
    run_once(session_factory, context, now=reopened + timedelta(seconds=61))
    assert _recipients(webhook) == ["Duty nurse", "Duty nurse", "Lead"]
    with session_factory.begin() as session:
        clock = session.execute(select(FlagDeadline)).scalar_one()
        assert clock.status == "done" and clock.started_at == reopened


def test_a_flag_reopened_between_two_rounds_still_restarts(session_factory, webhook):
    """The worker never saw it resolved: the clock still runs from the reopening, not the first raise."""
    context = make_context(webhook.url)
    flag_id = add_flag(session_factory, "urgent")
    run_once(session_factory, context, now=T0 + timedelta(seconds=5))
    reopened = T0 + timedelta(seconds=25)
    _resolve_then_reopen(session_factory, flag_id, T0 + timedelta(seconds=20), reopened)
    # 31 s after the raise, 6 s after the reopening: not due.
    assert run_once(session_factory, context, now=T0 + timedelta(seconds=31)).escalated == []
    run_once(session_factory, context, now=reopened + timedelta(seconds=31))
    assert _recipients(webhook) == ["Duty nurse"]


def test_a_reopened_flag_acknowledged_in_time_alerts_nobody(session_factory, webhook):
    context = make_context(webhook.url)
    flag_id = add_flag(session_factory, "urgent")
    run_once(session_factory, context, now=T0 + timedelta(seconds=5))
    reopened = T0 + timedelta(minutes=10)
    _resolve_then_reopen(session_factory, flag_id, T0 + timedelta(seconds=20), reopened)
    run_once(session_factory, context, now=reopened + timedelta(seconds=5))
    with session_factory.begin() as session:
        flags.acknowledge(
            session=session, flag=session.get(Flag, flag_id), by="nurse", now=reopened + timedelta(seconds=10)
        )
    run_once(session_factory, context, now=reopened + timedelta(minutes=5))
    assert webhook.bodies == [] and _fallbacks(session_factory) == 0
