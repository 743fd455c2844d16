"""Retention: delete flags, alerts, channel messages, photos and tracker conversations older than a cutoff.

The audit log is kept (it is append-only and holds no patient text); the purge itself
is recorded there by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Tuple

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.storage.contacts import purge_contacts
from bot.storage.inbox import purge_channel_messages
from bot.storage.models import AlertOutbox, Flag
from bot.storage.outbound import purge_outbound
from bot.storage.owed_table import OWED, OwedFlag
from bot.storage.photos import purge_photos
from bot.storage.quarantine import QuarantinedEvent, purge_quarantined
from bot.storage.tracker import purge_events

_PERIOD = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$", re.IGNORECASE)


def parse_period(text: str) -> timedelta:
    """Parse ``180d``, ``26w`` or a bare number of days; at least one day."""
    match = _PERIOD.match(text)
    if not match:
        raise ValueError(f"expected a period like 180d or 26w, not {text!r}")
    amount = int(match.group(1))
    period = timedelta(weeks=amount) if match.group(2).lower() == "w" else timedelta(days=amount)
    if period < timedelta(days=1):
        raise ValueError("the retention period must be at least one day")
    return period


@dataclass(frozen=True)
class PurgeReport:
    """What a purge deleted (or, in a dry run, would delete)."""

    cutoff: datetime
    flags: int
    alerts: int
    events: int
    conversations: int
    dry_run: bool
    channel_messages: int = 0
    quarantined_events: int = 0
    # Photo files whose rows this purge deleted: the caller removes them once it committed.
    photo_files: Tuple[str, ...] = ()
    contacts: int = 0

    @property
    def photos(self) -> int:
        """How many photos (each a file and its thumbnail) were deleted."""
        return len(self.photo_files) // 2

    def summary(self) -> str:
        """Return the counts as one line (also used as the audit detail)."""
        return (
            f"cutoff={self.cutoff.isoformat(timespec='seconds')} flags={self.flags} alerts={self.alerts} "
            f"events={self.events} conversations={self.conversations} "
            f"channel_messages={self.channel_messages} quarantined_events={self.quarantined_events} "
            f"photos={self.photos} "
            f"contacts={self.contacts}"
        )


def purge(*, session: Session, before: datetime, dry_run: bool = False) -> PurgeReport:
    """Delete flags last changed before ``before`` with their alerts, and older tracker events."""
    old_flags = select(Flag.id).where(Flag.updated_at < before)
    flag_count = int(session.execute(select(func.count()).select_from(old_flags.subquery())).scalar_one())
    alert_count = int(
        session.execute(
            select(func.count(AlertOutbox.id)).where(AlertOutbox.flag_id.in_(old_flags))
        ).scalar_one()
    )
    # Settled owed-flag records carry the message text too; unsettled ones are kept (still owed).
    old_owed = (OwedFlag.created_at < before) & ((OwedFlag.status != OWED) | OwedFlag.flag_id.in_(old_flags))
    if not dry_run:
        session.execute(delete(OwedFlag).where(old_owed), execution_options={"synchronize_session": False})
        session.execute(
            delete(AlertOutbox).where(AlertOutbox.flag_id.in_(old_flags)),
            execution_options={"synchronize_session": False},
        )
        session.execute(
            delete(Flag).where(Flag.updated_at < before), execution_options={"synchronize_session": False}
        )
    events = purge_events(session=session, before=before, dry_run=dry_run)
    # Channel messages hold the patient's words too; pending ones are kept (still owed a reply).
    messages = purge_channel_messages(session=session, before=before, dry_run=dry_run)
    # So do staff replies and notices (counted with the channel messages); queued ones are kept.
    messages += purge_outbound(session=session, before=before, dry_run=dry_run)
    # Quarantined tracker events keep the raw (patient) text of an unreadable event.
    if dry_run:
        quarantined = int(
            session.execute(
                select(func.count(QuarantinedEvent.id)).where(QuarantinedEvent.quarantined_at < before)
            ).scalar_one()
        )
    else:
        quarantined = purge_quarantined(session=session, before=before)
    photo_files = tuple(purge_photos(session=session, before=before, dry_run=dry_run))
    # Contact details patients left (issue 11) go with the conversation they belong to.
    contacts = purge_contacts(session=session, before=before, dry_run=dry_run)
    return PurgeReport(
        before,
        flag_count,
        alert_count,
        events.events,
        events.conversations,
        dry_run,
        messages,
        quarantined,
        photo_files,
        contacts,
    )
