"""The channel inbox and reply outbox: what patients sent us, and what we owe them back.

A provider webhook or widget message is written to ``aftercare_channel_inbox`` in the
transaction that acknowledges it, so a crash after "got it" loses nothing. An entry stays
``pending`` until its turn is stored; then it is ``done`` with the replies it produced
(a redelivery is answered from them, never processed again). Replies to provider channels
go to ``aftercare_channel_outbox`` in the same transaction that marks the entry done, one
row per provider call with a unique idempotency key, so replaying an entry can never
queue the same reply twice; a worker sends due rows with retries.

Callers own the session and the transaction; nothing here commits.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import CheckConstraint, Index, String, Text, UniqueConstraint, delete, func, select
from sqlalchemy.orm import Session

from bot.storage import columns
from bot.storage.db import any_row, claim_rows, insert_unless_taken, utcnow
from bot.storage.models import Base
from bot.storage.vocabulary import sql_in

if TYPE_CHECKING:
    from bot.storage.outbox import RetryPolicy

INBOX_PENDING = "pending"
INBOX_DONE = "done"
INBOX_FAILED = "failed"
INBOX_STATUSES: Tuple[str, ...] = (INBOX_PENDING, INBOX_DONE, INBOX_FAILED)

SEND_PENDING = "pending"
SEND_SENT = "sent"
SEND_FAILED = "failed"
SEND_STATUSES: Tuple[str, ...] = (SEND_PENDING, SEND_SENT, SEND_FAILED)

# A message that fails this often (Rasa crashing on it every time) stops blocking its
# conversation; it stays in the table as ``failed`` and is logged.
MAX_PROCESS_ATTEMPTS = 5


class InboxEntry(Base):
    """One message a channel accepted: its payload, where it stands, and the replies it got."""

    __tablename__ = "aftercare_channel_inbox"

    id = columns.primary_id()
    channel = columns.required(String(32))
    message_id = columns.required(String(255))
    conversation_id = columns.conversation_id()
    payload = columns.required(Text)
    status = columns.status(INBOX_PENDING)
    attempts = columns.counter()
    result = columns.optional(Text)
    last_error = columns.optional(String(200))
    received_at = columns.utc_now(index=True)
    processed_at = columns.utc_time()

    __table_args__ = (
        UniqueConstraint("channel", "message_id", name="uq_aftercare_channel_inbox_message"),
        CheckConstraint(sql_in("status", INBOX_STATUSES), name="status"),
        Index("ix_aftercare_channel_inbox_pending", "channel", "status", "conversation_id"),
    )

    @property
    def data(self) -> Any:
        """The stored payload, decoded."""
        return json.loads(self.payload)

    @property
    def replies(self) -> List[Mapping[str, Any]]:
        """The replies stored when the entry was done (empty before)."""
        return list(json.loads(self.result)) if self.result else []


class OutboxMessage(Base):
    """One provider call (a reply piece, a button answer) that must be made exactly once."""

    __tablename__ = "aftercare_channel_outbox"

    id = columns.primary_id()
    channel = columns.required(String(32))
    idempotency_key = columns.required(String(320), unique=True)
    inbox_id = columns.parent_id("aftercare_channel_inbox.id", nullable=True)
    request = columns.required(Text)
    status = columns.status(SEND_PENDING)
    attempts = columns.counter()
    next_attempt_at = columns.utc_now()
    last_error = columns.optional(String(200))
    created_at = columns.utc_now(index=True)
    sent_at = columns.utc_time()

    __table_args__ = (
        CheckConstraint(sql_in("status", SEND_STATUSES), name="status"),
        Index("ix_aftercare_channel_outbox_due", "channel", "status", "next_attempt_at"),
    )

    @property
    def data(self) -> Any:
        """The stored provider request, decoded."""
        return json.loads(self.request)


def record_delivery(
    *,
    session: Session,
    channel: str,
    message_id: str,
    conversation_id: str,
    payload: Mapping[str, Any],
    now: Optional[datetime] = None,
) -> Tuple[InboxEntry, bool]:
    """Write a delivery down; return ``(entry, True)`` the first time, ``(existing, False)`` after.

    The unique ``(channel, message_id)`` makes "first time?" atomic when two deliveries of
    one message race each other.
    """
    # Insert first, read only on a clash: a transaction that reads before it writes can fail
    # at once on SQLite ("database is locked") when another writer commits in between.
    entry = InboxEntry(
        channel=channel,
        message_id=message_id[:255],
        conversation_id=conversation_id,
        # ASCII-escaped: a hostile payload (an unpaired surrogate) is still stored, never refused.
        payload=json.dumps(dict(payload)),
        status=INBOX_PENDING,
        attempts=0,
        received_at=now or utcnow(),
    )
    return insert_unless_taken(
        session, entry, lambda: find_entry(session=session, channel=channel, message_id=message_id)
    )


def find_entry(*, session: Session, channel: str, message_id: str) -> Optional[InboxEntry]:
    """Return the entry for one provider message id, if it was ever received."""
    statement = select(InboxEntry).where(
        InboxEntry.channel == channel, InboxEntry.message_id == message_id[:255]
    )
    return session.execute(statement).scalars().first()


def pending_entries(*, session: Session, channel: str, conversation_id: str) -> List[InboxEntry]:
    """Return a conversation's pending entries in the order they arrived."""
    statement = (
        select(InboxEntry)
        .where(
            InboxEntry.channel == channel,
            InboxEntry.conversation_id == conversation_id,
            InboxEntry.status == INBOX_PENDING,
        )
        .order_by(InboxEntry.id)
    )
    return list(session.execute(statement).scalars())


def last_received_at(*, session: Session, conversation_id: str) -> Optional[datetime]:
    """When the patient of a conversation last wrote to us (None: never, or purged)."""
    statement = select(func.max(InboxEntry.received_at)).where(InboxEntry.conversation_id == conversation_id)
    value = session.execute(statement).scalar_one_or_none()
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)  # func.max bypasses the column type on SQLite
    return value


def pending_conversations(*, session: Session, channel: str, limit: int = 500) -> List[str]:
    """Return the conversations that have pending entries, oldest waiting first."""
    statement = (
        select(InboxEntry.conversation_id, func.min(InboxEntry.id).label("first"))
        .where(InboxEntry.channel == channel, InboxEntry.status == INBOX_PENDING)
        .group_by(InboxEntry.conversation_id)
        .order_by("first")
        .limit(limit)
    )
    return [row[0] for row in session.execute(statement)]


def complete_entry(
    *,
    session: Session,
    entry_id: int,
    replies: Sequence[Mapping[str, Any]],
    requests: Sequence[Mapping[str, Any]] = (),
    now: Optional[datetime] = None,
) -> Optional[InboxEntry]:
    """Mark an entry done with its replies, and queue its provider calls in the same transaction.

    Completing an entry twice changes nothing (its first result stands), so a replay
    that races a slow first run cannot queue a second set of replies.
    """
    now = now or utcnow()
    entry = session.get(InboxEntry, entry_id)
    if entry is None or entry.status == INBOX_DONE:
        return entry
    entry.status = INBOX_DONE
    entry.attempts += 1
    entry.result = json.dumps(list(replies))
    entry.processed_at = now
    entry.last_error = None
    enqueue_requests(
        session=session,
        channel=entry.channel,
        key=f"{entry.channel}:{entry.message_id}",
        requests=requests,
        inbox_id=entry.id,
        now=now,
    )
    return entry


def record_failure(
    *, session: Session, entry_id: int, error: str, max_attempts: int = MAX_PROCESS_ATTEMPTS
) -> Optional[InboxEntry]:
    """Count a failed processing attempt; after ``max_attempts`` the entry is ``failed``."""
    entry = session.get(InboxEntry, entry_id)
    if entry is None or entry.status != INBOX_PENDING:
        return entry
    entry.attempts += 1
    entry.last_error = error[:200]
    if entry.attempts >= max_attempts:
        entry.status = INBOX_FAILED
    return entry


def enqueue_requests(
    *,
    session: Session,
    channel: str,
    key: str,
    requests: Sequence[Mapping[str, Any]],
    inbox_id: Optional[int] = None,
    now: Optional[datetime] = None,
) -> List[OutboxMessage]:
    """Queue provider calls under ``key:0``, ``key:1``...; keys already queued are skipped."""
    now = now or utcnow()
    keys = [f"{key}:{index}"[:320] for index in range(len(requests))]
    if not keys:
        return []
    taken = set(
        session.execute(select(OutboxMessage.idempotency_key).where(OutboxMessage.idempotency_key.in_(keys)))
        .scalars()
        .all()
    )
    rows = [
        OutboxMessage(
            channel=channel,
            idempotency_key=row_key,
            inbox_id=inbox_id,
            request=json.dumps(dict(request)),
            status=SEND_PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for row_key, request in zip(keys, requests, strict=True)
        if row_key not in taken
    ]
    session.add_all(rows)
    session.flush()
    return rows


def send_policy() -> RetryPolicy:
    """Provider calls are retried sooner and for less long than staff alerts: a patient is waiting."""
    # Imported here: bot.storage.outbox imports the models, which import this module.
    from bot.storage.outbox import RetryPolicy

    return RetryPolicy(max_attempts=8, base_delay=timedelta(seconds=2), max_delay=timedelta(minutes=10))


def _due(channel: str, now: Optional[datetime]) -> Tuple[Any, ...]:
    return (
        OutboxMessage.channel == channel,
        OutboxMessage.status == SEND_PENDING,
        OutboxMessage.next_attempt_at <= (now or utcnow()),
    )


def due_requests(
    *, session: Session, channel: str, now: Optional[datetime] = None, limit: int = 50
) -> List[OutboxMessage]:
    """Return pending provider calls that are due, in the order they were queued."""
    statement = claim_rows(OutboxMessage, *_due(channel, now), limit=limit)
    return list(session.execute(statement).scalars())


def has_due_requests(*, session: Session, channel: str, now: Optional[datetime] = None) -> bool:
    """Whether :func:`due_requests` would find anything (a cheap read, no row locks)."""
    return any_row(session, OutboxMessage.id, *_due(channel, now))


def mark_sent(*, session: Session, message_id: int, now: Optional[datetime] = None) -> None:
    """Record that the provider accepted the call."""
    row = session.get(OutboxMessage, message_id)
    if row is not None:
        row.status = SEND_SENT
        row.attempts += 1
        row.sent_at = now or utcnow()
        row.last_error = None


def mark_send_failed(
    *,
    session: Session,
    message_id: int,
    error: str,
    permanent: bool = False,
    policy: Optional[RetryPolicy] = None,
    now: Optional[datetime] = None,
) -> None:
    """Record a failed call: retry later with backoff, or give up (refused, or out of attempts)."""
    policy = policy or send_policy()
    row = session.get(OutboxMessage, message_id)
    if row is None:
        return
    row.attempts += 1
    row.last_error = error[:200]
    if permanent or row.attempts >= policy.max_attempts:
        row.status = SEND_FAILED
    else:
        row.next_attempt_at = (now or utcnow()) + policy.delay_after(row.attempts)


def purge_channel_messages(*, session: Session, before: datetime, dry_run: bool = False) -> int:
    """Delete finished inbox entries received before ``before``, with their outbox rows.

    Pending entries stay whatever their age: they are messages still owed an answer.
    """
    old = select(InboxEntry.id).where(InboxEntry.received_at < before, InboxEntry.status != INBOX_PENDING)
    count = int(session.execute(select(func.count()).select_from(old.subquery())).scalar_one())
    if not dry_run:
        session.execute(
            delete(OutboxMessage).where(
                (OutboxMessage.inbox_id.in_(old))
                | (OutboxMessage.created_at < before) & (OutboxMessage.status != SEND_PENDING)
            ),
            execution_options={"synchronize_session": False},
        )
        session.execute(
            delete(InboxEntry).where(InboxEntry.received_at < before, InboxEntry.status != INBOX_PENDING),
            execution_options={"synchronize_session": False},
        )
    return count
