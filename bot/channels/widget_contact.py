"""The widget's optional contact step: a flagged widget patient may leave a phone or an email.

Widget patients are otherwise anonymous (a signed session id), so after the assistant flags
their conversation the widget offers ``POST /webhooks/widget/contact`` (session token,
``kind`` phone/email, ``value``). The value is validated here on the server, stored in
``aftercare_patient_contacts`` (covered by ``aftercare purge``) and never logged.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Tuple

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.storage import run_write
from bot.storage.contacts import ContactError, contact_for, save_contact
from bot.storage.models import Flag
from bot.storage.vocabulary import UNRESOLVED_STATUSES
from bot.triage import Level

TEXTS_FILE = Path(__file__).with_name("widget_contact.yml")


@lru_cache(maxsize=1)
def contact_texts() -> Dict[str, Dict[str, str]]:
    """The step's labels and error sentences."""
    with TEXTS_FILE.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    return {"labels": dict(data["labels"]), "errors": dict(data["errors"])}


def _unresolved_levels(session: Session, conversation_id: str) -> List[str]:
    statement = select(Flag.level).where(
        Flag.conversation_id == conversation_id, Flag.status.in_(UNRESOLVED_STATUSES)
    )
    return [str(level) for level in session.execute(statement).scalars()]


def _is_flagged(session: Session, conversation_id: str) -> bool:
    return bool(_unresolved_levels(session, conversation_id))


def should_offer(factory: sessionmaker, conversation_id: str) -> bool:
    """Offer the step while the conversation has an unresolved flag and no contact yet.

    Never next to an emergency: that patient must call the emergency number, and nothing
    (no form, no second alert) may come between them and the call buttons.
    """
    with factory.begin() as session:
        levels = _unresolved_levels(session, conversation_id)
        return (
            bool(levels)
            and Level.EMERGENCY.value not in levels
            and contact_for(session=session, conversation_id=conversation_id) is None
        )


def leave_contact(
    factory: sessionmaker, conversation_id: str, data: Mapping[str, Any]
) -> Tuple[int, Dict[str, Any]]:
    """Validate and store the patient's contact; return (HTTP status, JSON body)."""
    texts = contact_texts()

    def work(session: Session) -> str:
        if not _is_flagged(session, conversation_id):
            raise ContactError("not_flagged")
        save_contact(
            session=session,
            conversation_id=conversation_id,
            kind=str(data.get("kind")),
            value=data.get("value"),
        )
        return "saved"

    try:
        run_write(factory, work)
    except ContactError as error:
        status = 409 if error.code == "not_flagged" else 400
        return status, {"error": error.code, "message": texts["errors"][error.code]}
    return 200, {"saved": True, "message": texts["labels"]["saved"]}
