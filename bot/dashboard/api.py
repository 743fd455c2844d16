"""The staff JSON API under ``/api`` (contract: ``openapi.json`` beside this module).

Authenticated by per-staff API tokens (``Authorization: Bearer <token>``, created with
``aftercare staff token NAME``); a token acts as its staff member, with that member's role.
Login, CSRF and auditing are enforced for every request in ``bot.dashboard.security``, so
a route here cannot forget them; this module only does the work.
"""

from __future__ import annotations

import json
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, Mapping, Optional, Tuple

from flask import Blueprint, Response, abort, g, jsonify, request
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import Session

from bot.dashboard import staff_actions
from bot.dashboard.db import record, state, transaction
from bot.dashboard.filters import QueueForm
from bot.storage import flags, outbound, queue
from bot.storage.models import Flag
from bot.storage.takeover import Takeover
from bot.storage.takeover_flow import HeldByOtherError
from bot.storage.vocabulary import ALARMS, OUTCOMES

bp = Blueprint("api", __name__, url_prefix="/api")

OPENAPI_FILE = Path(__file__).with_name("openapi.json")
PAGE_SIZE = 100
MAX_NOTE_LENGTH = 2000


@lru_cache(maxsize=1)
def openapi() -> Dict[str, Any]:
    """The API's OpenAPI document."""
    loaded: Dict[str, Any] = json.loads(OPENAPI_FILE.read_text(encoding="utf-8"))
    return loaded


def _time(value: Any) -> Optional[str]:
    return value.isoformat() if value is not None else None


def flag_json(flag: Flag) -> Dict[str, Any]:
    """A flag as the API gives it (never the patient's full identity)."""
    return {
        "id": flag.id,
        "conversation_id": flag.conversation_id,
        "channel": flag.channel,
        "level": flag.level,
        "kind": flag.kind,
        "status": flag.status,
        "reason": flag.reason,
        "rule": flag.rule,
        "created_at": _time(flag.created_at),
        "updated_at": _time(flag.updated_at),
        "acknowledged_by": flag.acknowledged_by,
        "resolved_by": flag.resolved_by,
        "outcome": flag.outcome,
    }


def takeover_json(takeover: Optional[Takeover]) -> Optional[Dict[str, Any]]:
    """Who holds the conversation, since when (None: the assistant answers)."""
    if takeover is None:
        return None
    return {"staff": takeover.staff, "started_at": _time(takeover.started_at)}


def message_json(message: outbound.OutboundMessage) -> Dict[str, Any]:
    """A queued staff message and where its delivery stands."""
    return {
        "id": message.id,
        "from": "staff" if message.kind == outbound.KIND_STAFF else "assistant",
        "text": message.text,
        "author": message.author,
        "status": message.status,
        "at": _time(message.sent_at or message.created_at),
    }


def _body() -> Mapping[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400, description="expected a JSON object")
    return data


def _error(status: int, error: str, **extra: Any) -> Tuple[Response, int]:
    return jsonify({"error": error, **extra}), status


@bp.route("/openapi.json")
def openapi_document() -> ResponseReturnValue:
    """The OpenAPI description of this API."""
    return jsonify(openapi())


@bp.route("/flags")
def list_flags() -> ResponseReturnValue:
    """Flags in queue order, with the queue's filters as query parameters."""
    form = QueueForm.from_args(request.args)
    flt = form.to_filter(state().config.zone)
    if form.errors:
        return _error(400, form.errors[0])
    with transaction() as db:
        found = queue.list_flags(session=db, flt=flt, limit=PAGE_SIZE, offset=(form.page - 1) * PAGE_SIZE)
        total = queue.count_flags(session=db, flt=flt)
        body = {"flags": [flag_json(flag) for flag in found], "total": total, "page": form.page}
    return jsonify(body)


@bp.route("/conversations/<path:conversation_id>", methods=["GET"])
def conversation(conversation_id: str) -> ResponseReturnValue:
    """The transcript of a flagged conversation, with staff messages and the takeover."""
    with transaction() as db:
        try:
            found = staff_actions.load_conversation(db, conversation_id)
        except staff_actions.ConversationNotFoundError:
            return _error(404, "not_found")
        record(db, "conversation.view", target=f"conversation:{conversation_id}"[:255], detail="api")
        speaker = {"user": "patient", "bot": "assistant", "staff": "staff", "notice": "assistant"}
        messages = []
        for entry in found.timeline:
            if entry.kind not in speaker:
                continue
            item: Dict[str, Any] = {
                "from": speaker[entry.kind],
                "text": entry.text,
                "at": _time(entry.at),
                "attachments": list(entry.attachments),
            }
            if entry.status is not None:
                item.update(status=entry.status, author=entry.author)
            messages.append(item)
        body = {
            "conversation_id": conversation_id,
            "messages": messages,
            "flags": [flag_json(flag) for flag in found.flags],
            "takeover": takeover_json(found.takeover),
            "red_flags_during_takeover": [flag.id for flag in found.red_flags_during_takeover],
        }
    return jsonify(body)


@bp.route("/conversations/<path:conversation_id>/messages", methods=["POST"])
def send_message(conversation_id: str) -> ResponseReturnValue:
    """Queue a reply to the patient through their channel (``Idempotency-Key`` makes retries safe)."""
    text = _body().get("text")
    key = (request.headers.get("Idempotency-Key") or "")[:64] or secrets.token_urlsafe(12)
    try:
        with transaction() as db:
            message = staff_actions.reply(
                db, conversation_id, g.user, text if isinstance(text, str) else "", key
            )
            body = {"message": message_json(message)}
    except staff_actions.ConversationNotFoundError:
        return _error(404, "not_found")
    except staff_actions.ReplyRefusedError as error:
        return _error(400 if error.code != "no_channel" else 409, error.code)
    except HeldByOtherError as held:
        return _error(409, "held_by_other", held_by=held.holder)
    return jsonify(body), 202


@bp.route("/conversations/<path:conversation_id>/takeover", methods=["POST"])
def takeover(conversation_id: str) -> ResponseReturnValue:
    """Take the conversation over; 409 names who holds it when that is someone else."""
    try:
        with transaction() as db:
            result = staff_actions.take_over(db, conversation_id, g.user)
            body = {"taken": result.taken, "takeover": takeover_json(result.takeover)}
    except staff_actions.ConversationNotFoundError:
        return _error(404, "not_found")
    except staff_actions.ReplyRefusedError as error:
        return _error(409, error.code)
    if not result.taken:
        return _error(409, "held_by_other", held_by=result.takeover.staff)
    return jsonify(body)


@bp.route("/conversations/<path:conversation_id>/handback", methods=["POST"])
def handback(conversation_id: str) -> ResponseReturnValue:
    """Give the conversation back to the assistant."""
    try:
        with transaction() as db:
            ended = staff_actions.give_back(db, conversation_id, g.user)
    except staff_actions.ConversationNotFoundError:
        return _error(404, "not_found")
    return jsonify({"handed_back": ended is not None})


def _flag_action(flag_id: int, change: Any, action: str, detail: Optional[str] = None) -> ResponseReturnValue:
    with transaction() as db:
        flag = db.get(Flag, flag_id)
        if flag is None:
            return _error(404, "not_found")
        try:
            change(db, flag)
        except flags.InvalidTransitionError:
            return _error(409, "invalid_transition", flag=flag_json(flag))
        record(db, action, target=f"flag:{flag_id}", detail=detail)
        body = {"flag": flag_json(flag)}
    return jsonify(body)


@bp.route("/flags/<int:flag_id>/acknowledge", methods=["POST"])
def acknowledge(flag_id: int) -> ResponseReturnValue:
    """Acknowledge an open flag."""

    def take(db: Session, flag: Flag) -> object:
        return flags.acknowledge(session=db, flag=flag, by=g.user.username)

    return _flag_action(flag_id, take, "flag.acknowledge")


@bp.route("/flags/<int:flag_id>/resolve", methods=["POST"])
def resolve(flag_id: int) -> ResponseReturnValue:
    """Resolve a flag with an outcome (``true_alarm``/``false_alarm`` or a queue outcome) and a note."""
    data = request.get_json(silent=True) if request.content_length else {}
    if not isinstance(data, dict):
        return _error(400, "expected a JSON object")
    outcome = data.get("outcome")
    alarm = data.get("alarm")
    if outcome in ALARMS:
        alarm, outcome = outcome, ("false_alarm" if outcome == "false_alarm" else "other")
    outcome = outcome or ("false_alarm" if alarm == "false_alarm" else "other")
    note = data.get("note") or ""
    if outcome not in OUTCOMES or (alarm is not None and alarm not in ALARMS) or not isinstance(note, str):
        return _error(400, "bad_outcome")
    if len(note) > MAX_NOTE_LENGTH:
        return _error(400, "note_too_long")

    def close(db: Session, flag: Flag) -> object:
        return flags.resolve(
            session=db, flag=flag, by=g.user.username, outcome=outcome, note=note, alarm=alarm
        )

    detail = f"outcome={outcome}" + (f" alarm={alarm}" if alarm else "")
    return _flag_action(flag_id, close, "flag.resolve", detail)
