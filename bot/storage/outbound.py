"""Messages we send a patient outside the answer to their turn: staff replies, notices, check-ins.

One row per message in ``aftercare_outbound``, queued in the caller's transaction (with the
decision that caused it) under a caller-chosen idempotency ``key``. Each channel's
Dispatcher worker in the Rasa process turns its queued rows into provider calls in the
channel outbox (``bot.storage.inbox``, keys ``outbound:<id>:<n>``), which are sent once with
retries; the widget shows its rows in its history. A row's status moves
queued -> sent -> delivered, or to failed; provider status callbacks move it by the
provider's message id (``aftercare_outbound_receipts``).

Callers own the session and the transaction; nothing here commits.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from sqlalchemy import CheckConstraint, Index, String, Text, delete, func, select
from sqlalchemy.orm import Session

from bot.channel_names import patient_channels
from bot.storage import columns
from bot.storage.db import any_row, claim_rows, insert_unless_taken, utcnow
from bot.storage.models import Base
from bot.storage.vocabulary import sql_in

KIND_STAFF = "staff"
KIND_NOTICE = "notice"
KIND_FALLBACK = "fallback"
KIND_CHECKIN = "checkin"
KIND_PHOTO_REQUEST = "photo_request"
OUTBOUND_KINDS: Tuple[str, ...] = (KIND_STAFF, KIND_NOTICE, KIND_FALLBACK, KIND_CHECKIN, KIND_PHOTO_REQUEST)

STATUS_QUEUED = "queued"
STATUS_SENT = "sent"
STATUS_DELIVERED = "delivered"
STATUS_FAILED = "failed"
OUTBOUND_STATUSES: Tuple[str, ...] = (STATUS_QUEUED, STATUS_SENT, STATUS_DELIVERED, STATUS_FAILED)
# A status never moves backwards (callbacks arrive out of order).
_RANK = {STATUS_QUEUED: 0, STATUS_SENT: 1, STATUS_DELIVERED: 2, STATUS_FAILED: 3}

KEY_PREFIX = "outbound"
# In a row's template: the template carries the message's whole text, so it is the message
# (sent in its place when the reply window is closed, never followed by the plain copy).
TEMPLATE_CARRIES_TEXT = "carries_text"


class UnknownChannelError(ValueError):
    """The conversation id does not start with a channel we can send on."""


class OutboundMessage(Base):
    """One message owed to a patient that is not the answer to their turn."""

    __tablename__ = "aftercare_outbound"

    id = columns.primary_id()
    key = columns.required(String(255), unique=True)
    conversation_id = columns.conversation_id(index=True)
    channel = columns.required(String(32))
    kind = columns.required(String(16))
    author = columns.optional(String(64))
    text = columns.required(Text)
    buttons = columns.required(Text, default="[]")
    template = columns.optional(Text)
    status = columns.status(STATUS_QUEUED)
    created_at = columns.utc_now()
    # When its provider calls were queued in the channel outbox (None: not yet).
    rendered_at = columns.utc_time()
    # When a template went out instead, because the channel's reply window was closed;
    # the message itself follows once the patient writes again.
    held_since = columns.utc_time()
    sent_at = columns.utc_time()
    delivered_at = columns.utc_time()
    last_error = columns.optional(String(200))

    __table_args__ = (
        CheckConstraint(sql_in("kind", OUTBOUND_KINDS), name="kind"),
        CheckConstraint(sql_in("status", OUTBOUND_STATUSES), name="status"),
        Index("ix_aftercare_outbound_due", "channel", "status", "rendered_at"),
    )

    @property
    def button_list(self) -> List[Dict[str, str]]:
        """The quick replies, decoded."""
        return list(json.loads(self.buttons or "[]"))

    @property
    def template_spec(self) -> Optional[Dict[str, Any]]:
        """The template to open a closed reply window with, decoded (None: the clinic default)."""
        return dict(json.loads(self.template)) if self.template else None

    @property
    def template_carries_text(self) -> bool:
        """Whether the row's own template says all the message says (see TEMPLATE_CARRIES_TEXT)."""
        return bool((self.template_spec or {}).get(TEMPLATE_CARRIES_TEXT))

    @property
    def recipient(self) -> str:
        """The provider's id of the patient (the conversation id without its channel prefix)."""
        return self.conversation_id.split(":", 1)[1]


class OutboundReceipt(Base):
    """A provider's id for one call that delivered (part of) an outbound message."""

    __tablename__ = "aftercare_outbound_receipts"

    id = columns.primary_id()
    channel = columns.required(String(32))
    provider_message_id = columns.required(String(255))
    outbound_id = columns.parent_id("aftercare_outbound.id")
    created_at = columns.utc_now()

    __table_args__ = (
        Index("uq_aftercare_outbound_receipts_provider", "channel", "provider_message_id", unique=True),
    )


def channel_of(conversation_id: str) -> str:
    """The channel a conversation id names (``whatsapp:+44...`` -> ``whatsapp``)."""
    channel, sep, rest = conversation_id.partition(":")
    if not sep or not rest or channel not in patient_channels():
        raise UnknownChannelError("conversation id without a known channel prefix")
    return channel


def find_by_key(*, session: Session, key: str) -> Optional[OutboundMessage]:
    """The row queued under ``key``, if any."""
    return session.execute(select(OutboundMessage).where(OutboundMessage.key == key[:255])).scalars().first()


def queue_outbound(
    session: Session,
    *,
    conversation_id: str,
    kind: str,
    text: str,
    key: str,
    author: Optional[str] = None,
    buttons: Sequence[Mapping[str, str]] = (),
    template: Optional[Mapping[str, Any]] = None,
    now: Optional[datetime] = None,
) -> OutboundMessage:
    """Queue one message for the patient of ``conversation_id``; the same ``key`` twice queues it once.

    ``template`` (``{"name", "language", "parameters"}``) is what opens a closed WhatsApp
    reply window for this message; without it the clinic's reply template is used.
    """
    if kind not in OUTBOUND_KINDS:
        raise ValueError(f"unknown outbound kind {kind!r}")
    row = OutboundMessage(
        key=key[:255],
        conversation_id=conversation_id,
        channel=channel_of(conversation_id),
        kind=kind,
        author=author,
        text=text,
        buttons=json.dumps([{"title": str(b["title"])} for b in buttons if b.get("title")]),
        template=json.dumps(dict(template)) if template else None,
        status=STATUS_QUEUED,
        created_at=now or utcnow(),
    )
    stored, _ = insert_unless_taken(session, row, lambda: find_by_key(session=session, key=key))
    return stored


def request_key(outbound_id: int, part: str = "") -> str:
    """The channel-outbox key prefix for one outbound row's provider calls."""
    return f"{KEY_PREFIX}:{outbound_id}{':' + part if part else ''}"


def outbound_id_of(idempotency_key: str) -> Optional[int]:
    """The outbound row a channel-outbox key belongs to (None for the assistant's own replies)."""
    prefix, _, rest = idempotency_key.partition(":")
    number = rest.split(":", 1)[0]
    return int(number) if prefix == KEY_PREFIX and number.isdigit() else None


def is_template_call(idempotency_key: str) -> bool:
    """Whether a channel-outbox key is a window-opening template (not the message itself)."""
    return idempotency_key.split(":")[2:3] == ["template"]


def _waiting(channel: str) -> Tuple[Any, ...]:
    return (
        OutboundMessage.channel == channel,
        OutboundMessage.status == STATUS_QUEUED,
        OutboundMessage.rendered_at.is_(None),
    )


def waiting(*, session: Session, channel: str, limit: int = 100) -> List[OutboundMessage]:
    """Queued rows of ``channel`` whose provider calls are not queued yet, oldest first."""
    statement = claim_rows(OutboundMessage, *_waiting(channel), limit=limit)
    return list(session.execute(statement).scalars())


def has_waiting(*, session: Session, channel: str) -> bool:
    """Whether :func:`waiting` would find anything (a cheap read for an idle worker)."""
    return any_row(session, OutboundMessage.id, *_waiting(channel))


def template_pending(*, session: Session, conversation_id: str) -> bool:
    """Whether a window-opening template already went out and its messages still wait."""
    return any_row(
        session,
        OutboundMessage.id,
        OutboundMessage.conversation_id == conversation_id,
        OutboundMessage.status == STATUS_QUEUED,
        OutboundMessage.held_since.is_not(None),
    )


def advance(
    row: OutboundMessage, status: str, *, now: Optional[datetime] = None, error: Optional[str] = None
) -> bool:
    """Move a row forward to ``status`` (never back; failed is final); True if it changed."""
    if _RANK[status] <= _RANK[row.status] or row.status == STATUS_FAILED:
        return False
    now = now or utcnow()
    row.status = status
    if status == STATUS_SENT:
        row.sent_at = now
    elif status == STATUS_DELIVERED:
        row.sent_at = row.sent_at or now
        row.delivered_at = now
    elif status == STATUS_FAILED:
        row.last_error = (error or "failed")[:200]
    return True


def record_call(
    *,
    session: Session,
    idempotency_key: str,
    sent: bool,
    provider_message_id: Optional[str] = None,
    error: Optional[str] = None,
    channel: str = "",
    now: Optional[datetime] = None,
) -> Optional[OutboundMessage]:
    """Note what became of one provider call of an outbound row.

    A row is sent when all its calls were accepted, failed when any call was given up.
    A window-opening template changes nothing on the row unless it fails (the message
    itself still waits), and its receipts are not kept: they say nothing about the message.
    """
    outbound_id = outbound_id_of(idempotency_key)
    row = session.get(OutboundMessage, outbound_id) if outbound_id is not None else None
    if row is None:
        return None
    template = is_template_call(idempotency_key)
    if sent and provider_message_id and not template:
        session.add(
            OutboundReceipt(
                channel=channel or row.channel,
                provider_message_id=provider_message_id[:255],
                outbound_id=row.id,
                created_at=now or utcnow(),
            )
        )
    if not sent:
        advance(row, STATUS_FAILED, now=now, error=error)
    elif not template and row.rendered_at is not None and not _calls_pending(session, row.id):
        advance(row, STATUS_SENT, now=now)
    return row


def _calls_pending(session: Session, outbound_id: int) -> bool:
    # Imported here: bot.storage.inbox is loaded by the models module that this one imports.
    from bot.storage.inbox import SEND_PENDING, OutboxMessage

    prefix = request_key(outbound_id) + ":"
    statement = select(OutboxMessage.idempotency_key).where(
        OutboxMessage.idempotency_key.startswith(prefix, autoescape=True),
        OutboxMessage.status == SEND_PENDING,
    )
    return any(not is_template_call(key) for key in session.execute(statement).scalars())


def apply_receipt(
    *,
    session: Session,
    channel: str,
    provider_message_id: str,
    status: str,
    error: Optional[str] = None,
    now: Optional[datetime] = None,
) -> Optional[OutboundMessage]:
    """Apply a provider status callback (``sent``/``delivered``/``failed``) to its row, if it is ours."""
    if status not in _RANK:
        return None
    statement = (
        select(OutboundMessage)
        .join(OutboundReceipt, OutboundReceipt.outbound_id == OutboundMessage.id)
        .where(
            OutboundReceipt.channel == channel,
            OutboundReceipt.provider_message_id == provider_message_id[:255],
        )
    )
    row = session.execute(statement).scalars().first()
    if row is None:
        return None
    advance(row, status, now=now, error=error)
    return row


def for_conversation(
    *, session: Session, conversation_id: str, statuses: Sequence[str] = OUTBOUND_STATUSES
) -> List[OutboundMessage]:
    """A conversation's outbound messages, oldest first."""
    statement = (
        select(OutboundMessage)
        .where(OutboundMessage.conversation_id == conversation_id, OutboundMessage.status.in_(statuses))
        .order_by(OutboundMessage.id)
    )
    return list(session.execute(statement).scalars())


def mark_delivered(
    *, session: Session, rows: Sequence[OutboundMessage], now: Optional[datetime] = None
) -> None:
    """The patient's own app fetched these rows (the widget's history): they are delivered."""
    for row in rows:
        advance(row, STATUS_DELIVERED, now=now)


def purge_outbound(*, session: Session, before: datetime, dry_run: bool = False) -> int:
    """Delete finished outbound messages (they hold staff words to a patient) created before ``before``.

    Queued ones stay whatever their age: they are still owed to the patient.
    """
    old = (OutboundMessage.created_at < before) & (OutboundMessage.status != STATUS_QUEUED)
    count = int(session.execute(select(func.count(OutboundMessage.id)).where(old)).scalar_one())
    if not dry_run:
        session.execute(
            delete(OutboundReceipt).where(
                OutboundReceipt.outbound_id.in_(select(OutboundMessage.id).where(old))
            ),
            execution_options={"synchronize_session": False},
        )
        session.execute(delete(OutboundMessage).where(old), execution_options={"synchronize_session": False})
    return count
