"""Send due check-ins exactly once, through the shared outbound table.

Each round looks for scheduled check-ins whose moment has come (``now`` is passed in, so tests
move a clock instead of sleeping) and handles each in its own transaction: it claims the row
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, SQLite's write lock otherwise), checks consent,
opt-out and the enrolment's state, queues the message with the idempotency key
``checkin:<row id>`` and marks the row sent, all at once. A crash before the commit leaves the
row scheduled; after it, the row is sent and the outbound row exists; never both or neither.
A check-in found more than the grace period late (the worker was down) is skipped with a log
line naming only the row.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, Dict, List, Mapping, Optional

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.checkins.content import CheckinContent, CheckinText
from bot.checkins.optout import honour_inbox_commands
from bot.settings import CheckinSettings
from bot.storage.checkins import (
    CHECKIN_SCHEDULED,
    CHECKIN_SENT,
    CHECKIN_SKIPPED,
    ENROLMENT_ACTIVE,
    Enrolment,
    ScheduledCheckin,
)
from bot.storage.db import run_write, utcnow
from bot.storage.outbound import queue_outbound

logger = logging.getLogger(__name__)

OUTBOUND_KIND = "checkin"
SKIPPED_LATE = "late"
SKIPPED_OPTED_OUT = "opted_out"
NO_RESPONSE_RULE = "checkin_no_response"


# ``bot.storage.outbound.queue_outbound`` (the shared primitive), or a stand-in with its signature.
QueueOutbound = Callable[..., Any]


def default_queue() -> QueueOutbound:
    """The shared outbound primitive."""
    return queue_outbound


@dataclass
class RoundReport:
    """What one round did (row ids only; never patient data)."""

    sent: List[int] = field(default_factory=list)
    skipped_late: List[int] = field(default_factory=list)
    skipped_opted_out: List[int] = field(default_factory=list)
    no_response: List[int] = field(default_factory=list)


@dataclass
class CheckinWorker:
    """Everything a round needs: the database, the settings, the texts and the send primitive."""

    factory: sessionmaker
    settings: CheckinSettings
    content: CheckinContent
    clinic_values: Mapping[str, str]
    queue: Optional[QueueOutbound] = None
    flag_no_response: Optional[Callable[[Session, Enrolment, datetime], None]] = None

    def run_once(self, now: Optional[datetime] = None) -> RoundReport:
        """Handle every check-in due at ``now``; return what was done."""
        now = now or utcnow()
        report = RoundReport()
        for row_id in self._due_ids(now):
            try:
                outcome = run_write(self.factory, functools.partial(self._handle, row_id=row_id, now=now))
            except Exception as error:  # one bad row must not hold up the others; it is retried
                logger.error("Check-in %s could not be queued (%s)", row_id, type(error).__name__)
                continue
            if outcome == CHECKIN_SENT:
                report.sent.append(row_id)
            elif outcome == SKIPPED_LATE:
                report.skipped_late.append(row_id)
                logger.info(
                    "Check-in %s skipped: due more than %s hour(s) ago", row_id, self.settings.grace_hours
                )
            elif outcome == SKIPPED_OPTED_OUT:
                report.skipped_opted_out.append(row_id)
        if self.settings.no_response_hours and self.flag_no_response is not None:
            report.no_response = self._no_response_round(now)
        return report

    def _due_ids(self, now: datetime) -> List[int]:
        statement = (
            select(ScheduledCheckin.id)
            .join(Enrolment, Enrolment.id == ScheduledCheckin.enrolment_id)
            .where(
                ScheduledCheckin.status == CHECKIN_SCHEDULED,
                ScheduledCheckin.due_at <= now,
                Enrolment.status == ENROLMENT_ACTIVE,
                Enrolment.consent_at.isnot(None),
            )
            .order_by(ScheduledCheckin.due_at, ScheduledCheckin.id)
            .limit(200)
        )
        with self.factory.begin() as session:
            return list(session.execute(statement).scalars())

    def _handle(self, session: Session, *, row_id: int, now: datetime) -> Optional[str]:
        row = session.execute(
            select(ScheduledCheckin)
            .where(ScheduledCheckin.id == row_id, ScheduledCheckin.status == CHECKIN_SCHEDULED)
            .with_for_update(skip_locked=True)
        ).scalar_one_or_none()
        if row is None:
            return None  # another worker took it, or staff cancelled it meanwhile
        enrolment = session.get(Enrolment, row.enrolment_id)
        if enrolment is None or enrolment.status != ENROLMENT_ACTIVE or not enrolment.consented:
            return None
        if now - row.due_at > timedelta(hours=self.settings.grace_hours):
            return self._close(row, CHECKIN_SKIPPED, SKIPPED_LATE, now)
        if honour_inbox_commands(session=session, conversation_id=enrolment.conversation_id):
            return self._close(row, CHECKIN_SKIPPED, SKIPPED_OPTED_OUT, now)
        message = self.content.render(row.day, self.clinic_values)
        key = f"checkin:{row.id}"
        queue = self.queue or default_queue()
        queue(
            session,
            conversation_id=enrolment.conversation_id,
            kind=OUTBOUND_KIND,
            text=message.text,
            key=key,
            buttons=[{"title": title, "payload": title} for title in message.quick_replies],
            template=self.template_for(enrolment.channel, message),
        )
        row.outbound_key = key
        return self._close(row, CHECKIN_SENT, None, now)

    @staticmethod
    def _close(row: ScheduledCheckin, status: str, reason: Optional[str], now: datetime) -> str:
        row.status = status
        row.reason = reason
        row.done_at = now
        return reason or status

    def template_for(self, channel: str, message: CheckinText) -> Optional[Dict[str, Any]]:
        """The approved WhatsApp template carrying our text, when the clinic configured one."""
        if channel != "whatsapp" or not self.settings.whatsapp_template:
            return None
        return {
            "name": self.settings.whatsapp_template,
            "language": self.settings.whatsapp_template_language,
            "parameters": [
                message.parts.get(name, "") for name in self.settings.whatsapp_template_parameters
            ],
        }

    # -- no response after the last check-in ------------------------------------------------

    def _no_response_round(self, now: datetime) -> List[int]:
        flagged: List[int] = []
        for enrolment_id in self._silent_candidates():
            work = functools.partial(self._check_silence, enrolment_id=enrolment_id, now=now)
            if run_write(self.factory, work):
                flagged.append(enrolment_id)
        return flagged

    def _silent_candidates(self) -> List[int]:
        statement = select(Enrolment.id).where(
            Enrolment.status == ENROLMENT_ACTIVE, Enrolment.no_response_flagged_at.is_(None)
        )
        with self.factory.begin() as session:
            return list(session.execute(statement).scalars())

    def _check_silence(self, session: Session, *, enrolment_id: int, now: datetime) -> bool:
        enrolment = session.get(Enrolment, enrolment_id)
        if enrolment is None or enrolment.no_response_flagged_at is not None:
            return False
        rows = list(enrolment.checkins)
        if not rows or any(row.status == CHECKIN_SCHEDULED for row in rows):
            return False
        sent = [row for row in rows if row.status == CHECKIN_SENT and row.done_at is not None]
        if not sent:
            return False
        last = max(sent, key=lambda row: row.day)
        if now - last.done_at < timedelta(hours=self.settings.no_response_hours):
            return False
        if last_patient_message_after(session, enrolment.conversation_id, last.done_at):
            enrolment.no_response_flagged_at = now  # answered: nothing to flag, ever
            return False
        assert self.flag_no_response is not None
        self.flag_no_response(session, enrolment, now)
        enrolment.no_response_flagged_at = now
        return True


def last_patient_message_after(session: Session, conversation_id: str, moment: datetime) -> bool:
    """Tell whether the patient wrote in this conversation after ``moment`` (the channel inbox)."""
    from bot.storage.inbox import InboxEntry

    found = session.execute(
        select(InboxEntry.id)
        .where(InboxEntry.conversation_id == conversation_id, InboxEntry.received_at > moment)
        .limit(1)
    ).first()
    return found is not None


def run_forever(worker: CheckinWorker, *, interval: float, clock: Callable[[], datetime] = utcnow) -> None:
    """Run rounds until interrupted; a failing round logs one line and the next one retries."""
    while True:
        try:
            report = worker.run_once(clock())
            if report.sent or report.skipped_late or report.no_response:
                logger.info(
                    "Check-ins: %s sent, %s skipped as late, %s no-response item(s)",
                    len(report.sent),
                    len(report.skipped_late),
                    len(report.no_response),
                )
        except Exception as error:
            logger.error("Check-in round failed (%s); retrying", type(error).__name__)
        time.sleep(interval)
