"""The "Patients" page: enrol a patient for check-ins, see each schedule, pause or cancel it.

Staff see, per enrolment, the treatment, the consent on record, each check-in's due time and
state, what was sent (the outbound row's status) and whether the patient wrote back; flags
raised by replies appear in the queue like any other. Every change is audited.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Dict, List, Mapping, Optional

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.channel_names import patient_channels
from bot.checkins import enrolment as enrolments
from bot.checkins.addresses import AddressError
from bot.checkins.content import load_content
from bot.dashboard.db import record, state, transaction
from bot.knowledge import get_clinic_settings
from bot.knowledge.procedures import Procedures, procedures_for_clinic
from bot.storage import inbox
from bot.storage.checkins import Enrolment
from bot.storage.db import utcnow
from bot.storage.masking import mask_identity
from bot.storage.models import Flag
from bot.storage.outbound import OutboundMessage

bp = Blueprint("patients", __name__, url_prefix="/patients")


def _procedures() -> Procedures:
    return procedures_for_clinic(state().settings.knowledge_dir, get_clinic_settings())


def masked_patient(enrolment: Enrolment) -> str:
    """The patient's address as staff see it (partly hidden)."""
    channel, _, sender = enrolment.conversation_id.partition(":")
    return mask_identity(channel, sender)


def _form_page(form: Mapping[str, Any], error: Optional[str] = None) -> str:
    """The list and the form; rendered outside any transaction (the page banner opens its own)."""
    settings = state().settings
    with transaction() as db:
        listed = enrolments.list_enrolments(session=db)
    return render_template(
        "patients/index.html",
        enrolments=listed,
        procedures=_procedures().procedures,
        channels=patient_channels(),
        wording=load_content(settings.knowledge_dir).staff_consent_wording,
        form=form,
        error=error,
        masked_patient=masked_patient,
    )


@bp.route("")
def index() -> str:
    """List enrolments, with the enrolment form."""
    return _form_page({})


@bp.route("", methods=["POST"])
def enrol() -> ResponseReturnValue:
    """Enrol one patient; consent obtained in person is recorded with the staff member's name."""
    form = {name: request.form.get(name, "").strip() for name in ("channel", "address", "procedure", "date")}
    consent = request.form.get("consent") == "yes"
    procedures = _procedures()
    settings = state().settings
    try:
        treated = date.fromisoformat(form["date"])
    except ValueError:
        treated = None
    if form["channel"] not in patient_channels():
        return _form_page(form, "channel"), 400
    if procedures.get(form["procedure"]) is None:
        return _form_page(form, "procedure"), 400
    if treated is None:
        return _form_page(form, "date"), 400
    try:
        with transaction() as db:
            enrolment = enrolments.enrol(
                session=db,
                request=enrolments.EnrolmentRequest(
                    form["channel"], form["address"], form["procedure"], treated
                ),
                check_in_days=procedures.check_in_days(form["procedure"]),
                settings=settings.checkins,
                actor=f"staff:{g.user.username}",
                now=utcnow(),
                consent_version=load_content(settings.knowledge_dir).consent_version if consent else None,
            )
            record(db, "checkins.enrol", target=f"enrolment:{enrolment.id}", detail=f"consent={consent}")
    except AddressError:
        return _form_page(form, "address"), 400
    return redirect(url_for("patients.show", enrolment_id=enrolment.id))


def _sent_rows(db: Session, enrolment: Enrolment) -> Dict[str, OutboundMessage]:
    keys = [row.outbound_key for row in enrolment.checkins if row.outbound_key]
    if not keys:
        return {}
    rows = db.execute(select(OutboundMessage).where(OutboundMessage.key.in_(keys))).scalars()
    return {row.key: row for row in rows}


def _replies(db: Session, conversation_id: str) -> Dict[str, Any]:
    found = db.execute(
        select(func.count(inbox.InboxEntry.id), func.max(inbox.InboxEntry.received_at)).where(
            inbox.InboxEntry.conversation_id == conversation_id
        )
    ).one()
    return {
        "count": int(found[0] or 0),
        "last": inbox.last_received_at(session=db, conversation_id=conversation_id),
    }


@bp.route("/<int:enrolment_id>")
def show(enrolment_id: int) -> str:
    """One patient's treatment, consent, schedule, what was sent and answered, and their flags."""
    with transaction() as db:
        enrolment = db.get(Enrolment, enrolment_id) or abort(404)
        flags: List[Flag] = list(
            db.execute(
                select(Flag).where(Flag.conversation_id == enrolment.conversation_id).order_by(Flag.id.desc())
            ).scalars()
        )
        record(db, "checkins.view", target=f"enrolment:{enrolment.id}")
        checkins = list(enrolment.checkins)  # loaded before the transaction ends
        sent = _sent_rows(db, enrolment)
        replies = _replies(db, enrolment.conversation_id)
    return render_template(
        "patients/show.html",
        enrolment=enrolment,
        checkins=checkins,
        patient=masked_patient(enrolment),
        procedure=_procedures().display_name(enrolment.procedure) or "",
        sent=sent,
        replies=replies,
        flags=flags,
    )


def _change(enrolment_id: int, action: str) -> Response:
    with transaction() as db:
        enrolment = db.get(Enrolment, enrolment_id) or abort(404)
        change = {"pause": enrolments.pause, "resume": enrolments.resume, "cancel": enrolments.cancel}[action]
        change(session=db, enrolment=enrolment, now=utcnow())
        record(db, f"checkins.{action}", target=f"enrolment:{enrolment.id}")
    return redirect(url_for("patients.show", enrolment_id=enrolment_id))


@bp.route("/<int:enrolment_id>/pause", methods=["POST"])
def pause(enrolment_id: int) -> Response:
    """Hold the check-ins."""
    return _change(enrolment_id, "pause")


@bp.route("/<int:enrolment_id>/resume", methods=["POST"])
def resume(enrolment_id: int) -> Response:
    """Let held check-ins go out again."""
    return _change(enrolment_id, "resume")


@bp.route("/<int:enrolment_id>/cancel", methods=["POST"])
def cancel(enrolment_id: int) -> Response:
    """Cancel every check-in not yet sent."""
    return _change(enrolment_id, "cancel")
