"""Contact details a patient leaves for the clinic (the widget's optional step).

The value is patient data: it lives only in ``aftercare_patient_contacts``, is shown in full
only to staff allowed to reveal it (every reveal audited), is deleted by ``aftercare purge``
with the conversation, and never goes into a log line or an error message.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Optional, Tuple

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.storage.db import insert_unless_taken, utcnow
from bot.storage.deadline_models import CONTACT_KINDS, PatientContact
from bot.storage.masking import DOT, mask_identity

_EMAIL = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)
_PHONE_CHARACTERS = re.compile(r"^\+?[0-9 ().-]+$")
MAX_EMAIL = 254
MIN_PHONE_DIGITS = 7
MAX_PHONE_DIGITS = 15  # E.164


class ContactError(ValueError):
    """The contact is unusable; ``code`` names which sentence the patient is shown."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def validate_contact(kind: object, value: object) -> Tuple[str, str]:
    """Return (kind, normalised value) or raise ContactError (bad_kind, bad_phone, bad_email)."""
    if kind not in CONTACT_KINDS:
        raise ContactError("bad_kind")
    text = value.strip() if isinstance(value, str) else ""
    if kind == "email":
        if len(text) > MAX_EMAIL or not _EMAIL.match(text):
            raise ContactError("bad_email")
        local, _, domain = text.rpartition("@")
        return "email", f"{local}@{domain.lower()}"
    digits = re.sub(r"\D", "", text)
    if not _PHONE_CHARACTERS.match(text) or not MIN_PHONE_DIGITS <= len(digits) <= MAX_PHONE_DIGITS:
        raise ContactError("bad_phone")
    return "phone", ("+" if text.startswith("+") else "") + digits


def contact_for(*, session: Session, conversation_id: str) -> Optional[PatientContact]:
    """Return the contact the patient left in this conversation, if any."""
    statement = select(PatientContact).where(PatientContact.conversation_id == conversation_id)
    return session.execute(statement).scalars().first()


def save_contact(
    *, session: Session, conversation_id: str, kind: object, value: object, now: Optional[datetime] = None
) -> PatientContact:
    """Store (or replace) the conversation's contact after validating it; the caller commits."""
    checked_kind, checked_value = validate_contact(kind, value)
    now = now or utcnow()
    row = PatientContact(
        conversation_id=conversation_id,
        kind=checked_kind,
        value=checked_value,
        created_at=now,
        updated_at=now,
    )
    current, inserted = insert_unless_taken(
        session, row, lambda: contact_for(session=session, conversation_id=conversation_id)
    )
    if not inserted:
        current.kind, current.value, current.updated_at = checked_kind, checked_value, now
    session.flush()
    return current


def purge_contacts(*, session: Session, before: datetime, dry_run: bool = False) -> int:
    """Delete contacts last changed before ``before`` (retention); return how many."""
    condition = PatientContact.updated_at < before
    count = int(session.execute(select(func.count(PatientContact.id)).where(condition)).scalar_one())
    if not dry_run and count:
        session.execute(
            delete(PatientContact).where(condition), execution_options={"synchronize_session": False}
        )
    return count


def masked_contact(kind: str, value: str) -> str:
    """Show a contact partly hidden: ``+44 ••• ••• 123`` or ``j•••@example.org``."""
    if kind == "email":
        local, _, domain = value.rpartition("@")
        return f"{local[:1]}{DOT * 3}@{domain}"
    return mask_identity("sms", value)
