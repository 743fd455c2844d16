"""The deadline worker: start each open flag's clock, escalate when a target passes, deliver.

Everything it knows is in the database (``aftercare_flag_deadlines``,
``aftercare_escalation_alerts``, ``aftercare_outbound``), so it can be killed at any line
and restarted, and several can run at once:

- a clock row per (flag, level) is inserted under a unique key, so it starts once;
- a due step is taken with a compare-and-set on ``steps_done`` (and ``FOR UPDATE SKIP
  LOCKED`` on PostgreSQL): only one worker wins it, and in that same transaction queues the
  escalation alert (unique per step) and, at the first step, the patient's fallback
  (idempotent outbound key);
- an alert is claimed with a lease before the network call and marked delivered after it; a
  worker that dies mid-call lets the lease lapse and the alert is retried (the webhook
  payload carries an idempotency key for receivers that may see it twice).

Acknowledged, resolved or re-levelled flags stop their clock; their pending alerts are skipped.
A flag staff reopen gets its clock again, counted from the reopening and from the start of the
chain (``restart_reopened_clocks``; the patient's fallback goes out again for the new round).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Callable, Dict, List, Mapping, Optional

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.alerts.config import AlertConfig
from bot.alerts.message import AlertMessage
from bot.alerts.senders import SENDERS
from bot.deadlines.fallback import queue_fallback
from bot.deadlines.message import build_escalation_message
from bot.knowledge.deadline_policy import HIGH_PRIORITY_LEVELS, DeadlinePolicy, describe
from bot.storage.db import claim_rows, utcnow
from bot.storage.deadline_models import (
    DEADLINE_DONE,
    DEADLINE_MET,
    DEADLINE_RUNNING,
    DEADLINE_SUPERSEDED,
    EscalationAlert,
    FlagDeadline,
)
from bot.storage.models import Flag
from bot.storage.outbox import RetryPolicy
from bot.storage.vocabulary import (
    ALERT_DELIVERED,
    ALERT_FAILED,
    ALERT_PENDING,
    ALERT_SKIPPED,
    STATUS_OPEN,
)

logger = logging.getLogger(__name__)

Sender = Callable[[AlertConfig, AlertMessage], None]
BATCH = 50


@dataclass(frozen=True)
class DeadlineContext:
    """What one worker needs: the clinic's policy and values, alert settings, the lease."""

    policy: DeadlinePolicy
    clinic_values: Mapping[str, str]
    alerts: AlertConfig
    claim: timedelta = timedelta(seconds=120)
    retry: RetryPolicy = RetryPolicy()
    # A flag older than this when the worker first sees it (the worker was off, or just
    # deployed on an old database) gets a stopped clock: no alert storm, no day-old fallback.
    stale_after: timedelta = timedelta(days=1)


@dataclass
class DeadlineReport:
    """What one round did (ids)."""

    started: List[int] = field(default_factory=list)
    restarted: List[int] = field(default_factory=list)
    escalated: List[int] = field(default_factory=list)
    fallbacks: List[int] = field(default_factory=list)
    stopped: List[int] = field(default_factory=list)
    delivered: List[int] = field(default_factory=list)
    failed: List[int] = field(default_factory=list)
    skipped: List[int] = field(default_factory=list)


def _stop_reason(flag: Optional[Flag], clock: FlagDeadline) -> Optional[str]:
    """Why a clock no longer runs: the flag was acknowledged/resolved (met) or changed level."""
    if flag is None or flag.status != STATUS_OPEN:
        return DEADLINE_MET
    if flag.level != clock.level:
        return DEADLINE_SUPERSEDED
    return None


def start_clocks(session: Session, context: DeadlineContext, now: datetime, report: DeadlineReport) -> None:
    """Give every open flag without a clock for its current level one, started when it was raised."""
    missing = (
        select(Flag)
        .outerjoin(FlagDeadline, (FlagDeadline.flag_id == Flag.id) & (FlagDeadline.level == Flag.level))
        .where(Flag.status == STATUS_OPEN, FlagDeadline.id.is_(None))
        .order_by(Flag.id)
        .limit(BATCH)
    )
    for flag in session.execute(missing).scalars():
        target = context.policy.target(flag.level)
        if target is None:
            continue
        # updated_at of an open flag is when it was raised (or raised to this level).
        started = flag.updated_at or flag.created_at
        stale = now - started > context.stale_after
        if stale:
            logger.warning("flag %s is too old for a response-time clock; not escalated", flag.id)
        clock = FlagDeadline(
            flag_id=flag.id,
            level=flag.level,
            status=DEADLINE_DONE if stale else DEADLINE_RUNNING,
            started_at=started,
            next_due_at=target.due(context.policy.hours, started, 1),
            steps_done=0,
            created_at=now,
            updated_at=now,
        )
        if _insert_clock(session, clock):
            report.started.append(int(flag.id))


def restart_reopened_clocks(
    session: Session, context: DeadlineContext, now: datetime, report: DeadlineReport
) -> None:
    """Run the clock of every flag reopened since its clock started again, from the reopening.

    An open flag changes ``updated_at`` at its level only when staff reopen it (a raise is a new
    level, with its own clock), so a clock started before it belongs to the earlier round,
    whether or not this worker saw the flag closed in between.
    """
    reopened = (
        select(FlagDeadline, Flag)
        .join(Flag, (Flag.id == FlagDeadline.flag_id) & (Flag.level == FlagDeadline.level))
        .where(Flag.status == STATUS_OPEN, FlagDeadline.started_at < Flag.updated_at)
        .order_by(FlagDeadline.id)
        .limit(BATCH)
    )
    for clock, flag in session.execute(reopened).all():
        target = context.policy.target(flag.level)
        started = flag.updated_at
        if target is None or started is None:
            continue
        stale = now - started > context.stale_after
        # Compare-and-set on started_at: of several workers, one restarts this round.
        taken = session.execute(
            update(FlagDeadline)
            .where(FlagDeadline.id == clock.id, FlagDeadline.started_at == clock.started_at)
            .values(
                status=DEADLINE_DONE if stale else DEADLINE_RUNNING,
                started_at=started,
                next_due_at=target.due(context.policy.hours, started, 1),
                steps_before_restart=FlagDeadline.steps_done,
                fallback_queued_at=None,
                updated_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount == 1:
            report.restarted.append(int(flag.id))


def _insert_clock(session: Session, clock: FlagDeadline) -> bool:
    """Insert in a savepoint; False when another worker started this clock first."""
    try:
        with session.begin_nested():
            session.add(clock)
    except IntegrityError:
        return False
    return True


def _take_step(
    session: Session,
    clock: FlagDeadline,
    flag: Flag,
    context: DeadlineContext,
    now: datetime,
    report: DeadlineReport,
) -> None:
    """Escalate one passed target of ``clock``: next recipient, and at the first, the patient."""
    policy = context.policy
    target = policy.target(clock.level)
    clinic_open = policy.hours.is_open(now)
    recipients = policy.recipients(now)
    step = int(clock.steps_done) + 1
    # Steps of this round (since the flag was last reopened) pick the recipient and the due time.
    base = int(clock.steps_before_restart or 0)
    in_round = step - base
    finished = in_round >= len(recipients) or target is None
    next_due = target.due(policy.hours, clock.started_at, in_round + 1) if target is not None else now
    # Compare-and-set: of several workers, exactly one moves steps_done from step - 1 to step.
    taken = session.execute(
        update(FlagDeadline)
        .where(FlagDeadline.id == clock.id, FlagDeadline.steps_done == step - 1)
        .values(
            steps_done=step,
            next_due_at=next_due,
            status=DEADLINE_DONE if finished else DEADLINE_RUNNING,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return
    if in_round <= len(recipients):
        recipient = recipients[in_round - 1]
        alert = EscalationAlert(
            flag_id=flag.id,
            deadline_id=clock.id,
            step=step,
            level=clock.level,
            priority="high" if clock.level in HIGH_PRIORITY_LEVELS else "low",
            recipient_name=recipient.name[:128],
            channel=recipient.channel,
            address=recipient.address,
            out_of_hours=0 if clinic_open else 1,
            status=ALERT_PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        session.add(alert)
        session.flush()
        report.escalated.append(int(alert.id))
    if in_round == 1:
        outbound_id = queue_fallback(
            session,
            flag=flag,
            level=clock.level,
            clinic_open=clinic_open,
            values=context.clinic_values,
            round_from_step=base,
        )
        session.execute(
            update(FlagDeadline)
            .where(FlagDeadline.id == clock.id)
            .values(fallback_queued_at=now)
            .execution_options(synchronize_session=False)
        )
        if outbound_id is not None:
            report.fallbacks.append(outbound_id)


def escalate_due(session: Session, context: DeadlineContext, now: datetime, report: DeadlineReport) -> None:
    """Take one step of every running clock that is due (one step per clock per round)."""
    running = FlagDeadline.status == DEADLINE_RUNNING
    due = claim_rows(FlagDeadline, running, due=FlagDeadline.next_due_at, now=now, limit=BATCH)
    for clock in list(session.execute(due).scalars()):
        flag = session.get(Flag, clock.flag_id)
        reason = _stop_reason(flag, clock)
        if reason is not None or flag is None:
            clock.status, clock.updated_at = reason or DEADLINE_MET, now
            report.stopped.append(int(clock.id))
            continue
        _take_step(session, clock, flag, context, now, report)


def stop_clocks(session: Session, now: datetime, report: DeadlineReport) -> None:
    """Stop running clocks whose flag was acknowledged, resolved or changed level (not yet due)."""
    running = (
        select(FlagDeadline, Flag)
        .join(Flag, Flag.id == FlagDeadline.flag_id)
        .where(
            FlagDeadline.status == DEADLINE_RUNNING,
            (Flag.status != STATUS_OPEN) | (Flag.level != FlagDeadline.level),
        )
        .limit(BATCH)
    )
    for clock, flag in session.execute(running).all():
        clock.status = _stop_reason(flag, clock) or DEADLINE_MET
        clock.updated_at = now
        report.stopped.append(int(clock.id))


@dataclass(frozen=True)
class _Job:
    alert_id: int
    channel: str
    address: str
    message: AlertMessage


def _claim_alerts(
    factory: sessionmaker, context: DeadlineContext, now: datetime, report: DeadlineReport
) -> List[_Job]:
    """Lease due escalation alerts to this worker; skip those whose flag was taken care of."""
    jobs: List[_Job] = []
    with factory.begin() as session:
        statement = claim_rows(
            EscalationAlert,
            EscalationAlert.status == ALERT_PENDING,
            (EscalationAlert.claimed_until.is_(None)) | (EscalationAlert.claimed_until <= now),
            due=EscalationAlert.next_attempt_at,
            now=now,
            limit=BATCH,
        )
        for alert in session.execute(statement).scalars():
            flag = session.get(Flag, alert.flag_id)
            if flag is None or flag.status != STATUS_OPEN:
                alert.status, alert.last_error = ALERT_SKIPPED, "acknowledged before delivery"
                report.skipped.append(int(alert.id))
                continue
            if not _config_for(context.alerts, alert.channel, alert.address).enabled(alert.channel):
                alert.status, alert.last_error = ALERT_SKIPPED, f"{alert.channel} alerts are not configured"
                report.skipped.append(int(alert.id))
                continue
            alert.claimed_until = now + context.claim
            target = context.policy.target(alert.level)
            amount = target.amount(clinic_open=not alert.out_of_hours) if target else timedelta(0)
            message = build_escalation_message(alert, flag, context.alerts.dashboard_url, describe(amount))
            jobs.append(_Job(int(alert.id), alert.channel, alert.address, message))
    return jobs


def _config_for(config: AlertConfig, channel: str, address: str) -> AlertConfig:
    """The alert settings with this one recipient in place of the clinic-wide ones."""
    if channel == "email":
        return replace(config, recipients=(address,))
    return replace(config, webhook_url=address)


def _record(
    factory: sessionmaker, context: DeadlineContext, job: _Job, error: Optional[str], now: datetime
) -> None:
    with factory.begin() as session:
        alert = session.get(EscalationAlert, job.alert_id)
        if alert is None or alert.status != ALERT_PENDING:
            return
        alert.attempts = int(alert.attempts or 0) + 1
        alert.claimed_until = None
        if error is None:
            alert.status, alert.delivered_at, alert.last_error = ALERT_DELIVERED, now, None
            return
        alert.last_error = error[:2000]
        if alert.attempts >= context.retry.max_attempts:
            alert.status = ALERT_FAILED
        else:
            alert.next_attempt_at = now + context.retry.delay_after(alert.attempts)


def deliver(
    factory: sessionmaker,
    context: DeadlineContext,
    now: datetime,
    report: DeadlineReport,
    senders: Mapping[str, Sender],
) -> None:
    """Send every claimed escalation alert, outside any transaction, and record the result."""
    for job in _claim_alerts(factory, context, now, report):
        error: Optional[str] = None
        try:
            senders[job.channel](_config_for(context.alerts, job.channel, job.address), job.message)
        except Exception as exc:  # noqa: BLE001 - recorded for a retry, never crashes the worker
            error = f"{type(exc).__name__}"
            logger.warning("escalation alert %s over %s failed: %s", job.alert_id, job.channel, error)
        _record(factory, context, job, error, now)
        (report.delivered if error is None else report.failed).append(job.alert_id)


def run_once(
    factory: sessionmaker,
    context: DeadlineContext,
    *,
    now: Optional[datetime] = None,
    senders: Optional[Mapping[str, Sender]] = None,
) -> DeadlineReport:
    """One round: stop finished clocks, (re)start clocks, escalate due ones, deliver alerts."""
    now = now or utcnow()
    report = DeadlineReport()
    with factory.begin() as session:
        stop_clocks(session, now, report)
        restart_reopened_clocks(session, context, now, report)
        start_clocks(session, context, now, report)
    with factory.begin() as session:
        escalate_due(session, context, now, report)
    deliver(factory, context, now, report, senders if senders is not None else SENDERS)
    return report


class DeadlineWorker(threading.Thread):
    """Run :func:`run_once` every ``interval`` seconds until stopped; ``clock`` is injectable."""

    def __init__(
        self,
        factory: sessionmaker,
        context: DeadlineContext,
        *,
        interval: float = 15.0,
        clock: Callable[[], datetime] = utcnow,
        senders: Optional[Mapping[str, Sender]] = None,
    ) -> None:
        super().__init__(name="aftercare-deadlines", daemon=True)
        self.factory, self.context, self.interval, self.clock = factory, context, interval, clock
        self.senders: Dict[str, Sender] = dict(senders if senders is not None else SENDERS)
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                run_once(self.factory, self.context, now=self.clock(), senders=self.senders)
            except Exception as error:  # noqa: BLE001 - e.g. the database is briefly down; next round
                logger.error("deadline round failed (%s)", type(error).__name__)
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        """Ask the thread to finish after the current round."""
        self._stop_event.set()
