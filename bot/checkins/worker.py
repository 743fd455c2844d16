"""Send due check-ins exactly once, through the shared outbound table.

Each round looks for scheduled check-ins whose moment has come (``now`` is passed in, so tests
move a clock instead of sleeping) and handles each in its own transaction: it claims the row
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL, SQLite's write lock otherwise), checks consent,
opt-out (where the enrolment lives and where the check-in goes) and the enrolment's state, queues
the message with the idempotency key ``checkin:<row id>`` (for a widget patient who left a contact,
to their SMS conversation, or with an email in the channel outbox: ``bot.checkins.delivery``) and
marks the row sent, all at once. Each round then sends the due check-in emails. A crash before
the commit leaves the row scheduled; after it, the row is sent and the outbound row exists;
never both or neither.
A check-in found more than the grace period late (the worker was down) is skipped with a log
line naming only the row.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Callable, DefaultDict, Dict, List, Mapping, Optional, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.checkins.content import CheckinContent, CheckinText
from bot.checkins.delivery import ContactSenders, EmailOutbox, Route, queue_email, route_for
from bot.checkins.optout import opted_out
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
from bot.storage.inbox import InboxEntry
from bot.storage.outbound import TEMPLATE_CARRIES_TEXT, find_by_key, queue_outbound

logger = logging.getLogger(__name__)

OUTBOUND_KIND = "checkin"
SKIPPED_LATE = "late"
SKIPPED_OPTED_OUT = "opted_out"
EMAILED = "emailed"
NO_RESPONSE = "no_response"
NO_RESPONSE_RULE = "checkin_no_response"


# ``bot.storage.outbound.queue_outbound`` (the shared primitive), or a stand-in with its signature.
QueueOutbound = Callable[..., Any]


def default_queue() -> QueueOutbound:
    """The shared outbound primitive."""
    return queue_outbound


@dataclass
class RoundReport:
    """What one round did: row ids by outcome (sent, late, opted_out, no_response); never patient data."""

    outcomes: DefaultDict[str, List[int]] = field(default_factory=lambda: defaultdict(list))

    @property
    def sent(self) -> List[int]:
        """The check-ins queued for sending."""
        return self.outcomes[CHECKIN_SENT]

    def count(self, outcome: str) -> int:
        """How many rows had ``outcome``."""
        return len(self.outcomes.get(outcome, ()))


@dataclass
class CheckinWorker:
    """Everything a round needs: the database, the settings, the texts and the send primitive."""

    factory: sessionmaker
    settings: CheckinSettings
    content: CheckinContent
    clinic_values: Mapping[str, str]
    queue: Optional[QueueOutbound] = None
    flag_no_response: Optional[Callable[[Session, Enrolment, datetime], None]] = None
    # Widget patients' contacts: the senders this installation has, and the email outbox.
    senders: ContactSenders = ContactSenders()
    emails: Optional[EmailOutbox] = None

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
            if outcome is not None:
                report.outcomes[outcome].append(row_id)
            if outcome == SKIPPED_LATE:
                logger.info(
                    "Check-in %s skipped: due more than %s hour(s) ago", row_id, self.settings.grace_hours
                )
        if self.emails is not None:
            report.outcomes[EMAILED] = self.emails.send_due(now)
        if self.settings.no_response_hours and self.flag_no_response is not None:
            report.outcomes[NO_RESPONSE] = self._no_response_round(now)
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
        route = route_for(session=session, enrolment=enrolment, senders=self.senders)
        if opted_out(session=session, conversation_ids=[enrolment.conversation_id, route.conversation_id]):
            return self._close(row, CHECKIN_SKIPPED, SKIPPED_OPTED_OUT, now)
        message = self.content.render(row.day, self.clinic_values)
        key = f"checkin:{row.id}"
        self._queue_email(session, route, key, row.day, now)
        queue = self.queue or default_queue()
        queue(
            session,
            conversation_id=route.conversation_id,
            kind=OUTBOUND_KIND,
            text=message.text,
            key=key,
            buttons=[{"title": title, "payload": title} for title in message.quick_replies],
            template=self.template_for(enrolment.channel, message),
        )
        row.outbound_key = key
        return self._close(row, CHECKIN_SENT, None, now)

    def _queue_email(self, session: Session, route: Route, key: str, day: int, now: datetime) -> None:
        if route.email:
            subject, text = self.content.render_email(day, self.clinic_values)
            queue_email(
                session=session,
                key=key,
                conversation_id=route.conversation_id,
                subject=subject,
                text=text,
                now=now,
            )

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
        parameters = self.settings.whatsapp_template_parameters
        return {
            "name": self.settings.whatsapp_template,
            "language": self.settings.whatsapp_template_language,
            "parameters": [message.parts.get(name, "") for name in parameters],
            # The template says all the check-in says: the plain copy must not follow it.
            TEMPLATE_CARRIES_TEXT: "text" in parameters or {"normal", "watch_for"} <= set(parameters),
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
        # The patient may answer where the check-ins went (an SMS conversation for a widget patient).
        where = [enrolment.conversation_id] + [
            found.conversation_id
            for found in (find_by_key(session=session, key=row.outbound_key or "") for row in sent)
            if found is not None
        ]
        if last_patient_message_after(session, where, last.done_at):
            enrolment.no_response_flagged_at = now  # answered: nothing to flag, ever
            return False
        assert self.flag_no_response is not None
        self.flag_no_response(session, enrolment, now)
        enrolment.no_response_flagged_at = now
        return True


def last_patient_message_after(session: Session, conversation_ids: Sequence[str], moment: datetime) -> bool:
    """Tell whether the patient wrote in one of these conversations after ``moment`` (the channel inbox)."""
    found = session.execute(
        select(InboxEntry.id)
        .where(InboxEntry.conversation_id.in_(list(conversation_ids)), InboxEntry.received_at > moment)
        .limit(1)
    ).first()
    return found is not None


def run_forever(worker: CheckinWorker, *, interval: float, clock: Callable[[], datetime] = utcnow) -> None:
    """Run rounds until interrupted; a failing round logs one line and the next one retries."""
    while True:
        try:
            report = worker.run_once(clock())
            if any(report.outcomes.values()):
                logger.info(
                    "Check-ins: %s",
                    ", ".join(
                        f"{len(ids)} {outcome}" for outcome, ids in sorted(report.outcomes.items()) if ids
                    ),
                )
        except Exception as error:
            logger.error("Check-in round failed (%s); retrying", type(error).__name__)
        time.sleep(interval)
