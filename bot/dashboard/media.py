"""Patient photos for staff: the image routes behind the transcript's thumbnails, and the
one-click "ask for a photo".

The image routes answer only to a logged-in staff member (``security`` answers 401 to
anyone else, never a login page), send ``Content-Disposition`` and ``Cache-Control:
no-store``, and audit every view, thumbnails included.
"""

from __future__ import annotations

import secrets

from flask import Blueprint, Flask, Response, abort, flash, g, redirect, request, url_for
from sqlalchemy import func, select
from werkzeug.wrappers import Response as BaseResponse

from bot.dashboard.db import record, state, transaction
from bot.media.store import MediaStore
from bot.media.texts import load_photo_texts
from bot.storage import outbound
from bot.storage.models import Flag
from bot.storage.photos import Photo, consent_given

bp = Blueprint("media", __name__, url_prefix="/media")

SIZES = {"full": "file_name", "thumbnail": "thumbnail_name"}


def _send(photo_id: int, size: str) -> Response:
    with transaction() as db:
        photo = db.get(Photo, photo_id)
        if photo is None:
            abort(404)
        name = getattr(photo, SIZES[size])
        content_type = str(photo.content_type)
        record(db, "photo.view", target=f"photo:{photo_id}", detail=size)
    try:
        data = MediaStore(state().settings.media_dir).read(name)
    except FileNotFoundError:
        abort(404)
    response = Response(data, mimetype=content_type)
    suffix = "" if size == "full" else "-thumbnail"
    response.headers["Content-Disposition"] = f'inline; filename="photo-{photo_id}{suffix}.jpg"'
    response.headers["Cache-Control"] = "no-store, private"
    return response


@bp.route("/<int:photo_id>")
def full(photo_id: int) -> Response:
    """The whole photo (opened from its thumbnail)."""
    return _send(photo_id, "full")


@bp.route("/<int:photo_id>/thumbnail")
def thumbnail(photo_id: int) -> Response:
    """The small version shown in the transcript."""
    return _send(photo_id, "thumbnail")


def _request_count(db: object, conversation_id: str) -> int:
    statement = select(func.count(outbound.OutboundMessage.id)).where(
        outbound.OutboundMessage.conversation_id == conversation_id,
        outbound.OutboundMessage.kind == outbound.KIND_PHOTO_REQUEST,
    )
    return int(db.execute(statement).scalar_one())  # type: ignore[attr-defined]


@bp.route("/request/<int:flag_id>", methods=["POST"])
def ask_for_photo(flag_id: int) -> BaseResponse:
    """Send the patient the clinic's photo request (with the consent notice the first time)."""
    click = request.form.get("request_id", "")[:64] or secrets.token_hex(8)
    texts = load_photo_texts()
    with transaction() as db:
        flag = db.get(Flag, flag_id) or abort(404)
        conversation = str(flag.conversation_id)
        first = consent_given(session=db, conversation_id=conversation) is None and not _request_count(
            db, conversation
        )
        parts = [texts.say("photo_request")] + ([texts.say("consent")] if first else [])
        # One click is one request, however often the form is re-sent.
        key = f"photo_request:{conversation}:{click}"
        if outbound.find_by_key(session=db, key=key) is not None:
            flash("photo_requested", "info")
            return redirect(url_for("flags.show", flag_id=flag_id))
        try:
            outbound.queue_outbound(
                db,
                conversation_id=conversation,
                kind=outbound.KIND_PHOTO_REQUEST,
                text="\n\n".join(parts),
                key=key,
                author=g.user.username,
            )
        except outbound.UnknownChannelError:
            flash("photo_request_impossible", "error")
            return redirect(url_for("flags.show", flag_id=flag_id))
        record(db, "photo.request", target=f"flag:{flag_id}")
    flash("photo_requested", "info")
    return redirect(url_for("flags.show", flag_id=flag_id))


def install(app: Flask) -> None:
    """Register the routes and the template helpers the conversation page uses."""
    app.register_blueprint(bp)
    app.add_template_global(lambda: secrets.token_hex(8), "photo_request_id")
