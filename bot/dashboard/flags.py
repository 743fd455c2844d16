"""The conversation page of a flag, and the staff actions on flags."""

from __future__ import annotations

import secrets
from typing import Callable, Optional

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from bot.dashboard import staff_actions
from bot.dashboard.conversation import flags_by_turn
from bot.dashboard.db import record, transaction
from bot.storage import audit, flags, outbox
from bot.storage.models import Flag
from bot.storage.takeover_flow import HeldByOtherError
from bot.storage.vocabulary import ALARMS, OUTCOMES

bp = Blueprint("flags", __name__, url_prefix="/flags")

MAX_NOTE_LENGTH = 2000


def _target(flag_id: int) -> str:
    return f"flag:{flag_id}"


@bp.route("/<int:flag_id>")
def show(flag_id: int) -> str:
    """Show the whole conversation behind a flag, every flag it raised, and what staff did."""
    with transaction() as db:
        flag = db.get(Flag, flag_id)
        if flag is None:
            abort(404)
        conversation = staff_actions.load_conversation(db, flag.conversation_id)
        conversation_flags = conversation.flags
        transcript = conversation.transcript
        history = {
            item.id: list(reversed(audit.entries(session=db, target=_target(item.id), action="flag.")))
            for item in conversation_flags
        }
        alerts = {item.id: outbox.alerts_for_flag(session=db, flag_id=item.id) for item in conversation_flags}
        record(db, "conversation.view", target=_target(flag_id))
    return render_template(
        "conversation.html",
        flag=flag,
        flags=conversation_flags,
        transcript=transcript,
        history=history,
        alerts=alerts,
        highlighted=flags_by_turn(transcript, conversation_flags),
        outcomes=OUTCOMES,
        alarms_choices=ALARMS,
        max_note_length=MAX_NOTE_LENGTH,
        conversation=conversation,
        # One id per rendered form: a double click or a resubmitted form queues the reply once.
        reply_key=secrets.token_urlsafe(12),
        max_reply_length=staff_actions.MAX_REPLY_LENGTH,
    )


def _back(flag_id: int) -> Response:
    return redirect(url_for("flags.show", flag_id=flag_id))


def _change_flag(
    flag_id: int,
    change: Callable[[Session, Flag], object],
    action: str,
    done: str,
    detail: Optional[str] = None,
) -> Response:
    """Apply one status change and its audit entry in a transaction, then say how it went."""
    with transaction() as db:
        flag = db.get(Flag, flag_id) or abort(404)
        try:
            change(db, flag)
        except flags.InvalidTransitionError:
            flash("invalid_transition", "error")
            return _back(flag_id)
        record(db, action, target=_target(flag_id), detail=detail)
    flash(done, "info")
    return _back(flag_id)


@bp.route("/<int:flag_id>/acknowledge", methods=["POST"])
def acknowledge(flag_id: int) -> Response:
    """Take an open flag: it stays in the queue, marked as being looked after."""

    def take(db: Session, flag: Flag) -> object:
        return flags.acknowledge(session=db, flag=flag, by=g.user.username)

    return _change_flag(flag_id, take, "flag.acknowledge", "flag_acknowledged")


@bp.route("/<int:flag_id>/resolve", methods=["POST"])
def resolve(flag_id: int) -> Response:
    """Close a flag with an outcome and an optional note."""
    outcome = request.form.get("outcome", "")
    note = request.form.get("note", "")
    alarm = request.form.get("alarm", "") or None
    if outcome not in OUTCOMES:
        flash("outcome_required", "error")
        return _back(flag_id)
    if alarm is not None and alarm not in ALARMS:
        flash("bad_alarm", "error")
        return _back(flag_id)
    if len(note) > MAX_NOTE_LENGTH:
        flash("note_too_long", "error")
        return _back(flag_id)

    def close(db: Session, flag: Flag) -> object:
        by = g.user.username
        return flags.resolve(session=db, flag=flag, by=by, outcome=outcome, note=note, alarm=alarm)

    # The note stays out of the audit log: it may describe the patient, and audit rows outlive retention.
    detail = f"outcome={outcome}" + (f" alarm={alarm}" if alarm else "")
    return _change_flag(flag_id, close, "flag.resolve", "flag_resolved", detail=detail)


@bp.route("/<int:flag_id>/reopen", methods=["POST"])
def reopen(flag_id: int) -> Response:
    """Put a resolved flag back into the queue."""
    return _change_flag(
        flag_id, lambda db, flag: flags.reopen(session=db, flag=flag), "flag.reopen", "flag_reopened"
    )


def _conversation_of(db: Session, flag_id: int) -> str:
    flag = db.get(Flag, flag_id) or abort(404)
    return str(flag.conversation_id)


@bp.route("/<int:flag_id>/takeover", methods=["POST"])
def takeover(flag_id: int) -> Response:
    """Take the flag's conversation over: the assistant stops answering, except for red flags."""
    try:
        with transaction() as db:
            result = staff_actions.take_over(db, _conversation_of(db, flag_id), g.user)
    except staff_actions.ReplyRefusedError as error:
        flash(f"reply_errors.{error.code}", "error")
        return _back(flag_id)
    flash("takeover_started" if result.taken else "takeover_held", "info" if result.taken else "error")
    return _back(flag_id)


@bp.route("/<int:flag_id>/handback", methods=["POST"])
def handback(flag_id: int) -> Response:
    """Give the conversation back to the assistant, which tells the patient."""
    with transaction() as db:
        ended = staff_actions.give_back(db, _conversation_of(db, flag_id), g.user)
    flash("handed_back" if ended is not None else "not_taken_over", "info")
    return _back(flag_id)


@bp.route("/<int:flag_id>/reply", methods=["POST"])
def reply(flag_id: int) -> Response:
    """Send the patient a message through their own channel."""
    key = request.form.get("reply_key", "")[:64] or secrets.token_urlsafe(12)
    try:
        with transaction() as db:
            staff_actions.reply(db, _conversation_of(db, flag_id), g.user, request.form.get("text", ""), key)
    except staff_actions.ReplyRefusedError as error:
        flash(f"reply_errors.{error.code}", "error")
        return _back(flag_id)
    except HeldByOtherError:
        flash("takeover_held", "error")
        return _back(flag_id)
    flash("reply_queued", "info")
    return _back(flag_id)
