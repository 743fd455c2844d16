"""Contact details on the conversation page: masked for everyone, revealed in full on request.

Revealing is one POST by a staff member whose role is in ``AFTERCARE_REVEAL_ROLES`` (default:
admin); each reveal is audited with who, when and which flag/conversation (a hashed tag, never
the number itself, since the audit log outlives retention). Reviewers see masked values only.
"""

from __future__ import annotations

import hashlib
from typing import Dict, Optional

from flask import Blueprint, abort, g, render_template
from sqlalchemy import select

from bot.dashboard.db import record, state, transaction
from bot.storage.contacts import contact_for, masked_contact
from bot.storage.deadline_models import FlagDeadline
from bot.storage.masking import mask_identity
from bot.storage.models import Flag

bp = Blueprint("contacts", __name__, url_prefix="/flags")


def conversation_tag(conversation_id: str) -> str:
    """A short, stable, non-reversible tag for a conversation id (same form as the logs use)."""
    digest = hashlib.sha256(conversation_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"conv#{digest[:10]}"


def can_reveal() -> bool:
    """Tell whether the logged-in staff member may see full contact details."""
    user = g.get("user")
    return user is not None and user.role in state().settings.deadlines.reveal_roles


def handle(flag: Flag) -> str:
    """The patient's full channel identity: the phone number or provider handle."""
    value = str(flag.channel_user_id or flag.conversation_id)
    prefix = f"{flag.channel}:"
    return value[len(prefix) :] if value.lower().startswith(prefix.lower()) else value


@bp.app_template_global("contact_panel")
def panel_context(flag: Flag) -> Dict[str, object]:
    """What the conversation page's contact and deadline panel shows (masked values only)."""
    with transaction() as db:
        contact = contact_for(session=db, conversation_id=flag.conversation_id)
        statement = select(FlagDeadline).where(FlagDeadline.flag_id == flag.id).order_by(FlagDeadline.id)
        clocks = list(db.execute(statement).scalars())
    return {
        "contact_masked": masked_contact(contact.kind, contact.value) if contact is not None else None,
        "contact_kind": contact.kind if contact is not None else None,
        "can_reveal": can_reveal(),
        "deadlines": clocks,
    }


@bp.route("/<int:flag_id>/contact", methods=["POST"])
def reveal(flag_id: int) -> str:
    """Show the patient's full number/handle and any contact they left; audited."""
    if not can_reveal():
        abort(403)
    with transaction() as db:
        flag: Optional[Flag] = db.get(Flag, flag_id)
        if flag is None:
            abort(404)
        contact = contact_for(session=db, conversation_id=flag.conversation_id)
        record(
            db,
            "contact.reveal",
            target=f"flag:{flag_id}",
            detail=f"conversation={conversation_tag(flag.conversation_id)}",
        )
        values = {
            "flag": flag,
            "masked": mask_identity(flag.channel, flag.channel_user_id, flag.conversation_id),
            "handle": handle(flag),
            "contact": contact,
        }
    return render_template("contact.html", **values)
