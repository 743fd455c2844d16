"""The website chat widget's channel: signed sessions, messages, history, and the widget's files.

Endpoints below ``/webhooks/widget`` (the token goes in ``Authorization: Bearer <token>``
or, as the widget sends it, in the JSON body as ``"token"``):

- ``POST /session``: a new signed session token (the browser keeps it in localStorage);
- ``POST /message`` with the token, ``text`` and ``id``: the assistant's replies, each
  marked with the triage level it escalates to, plus the conversation's ``triage_level``;
- ``POST /history`` (or ``GET`` with the header): the conversation so far, so a reload
  continues it;
- ``POST /photo`` with the token, ``id``, base64 ``image``, optional ``caption`` and
  ``consent``: a photo for staff (``bot.channels.widget_photo``), answered like ``/message``;
- ``POST /photo/<id>/thumbnail`` (or ``GET`` with the header): the thumbnail of one of the
  patient's own photos, for the history (401 without a valid token, 404 for anyone else's);
- ``GET /config``: the widget's labels, suggested questions and the clinic's numbers;
- ``POST /contact`` with the token, ``kind`` (phone/email) and ``value``: the optional
  "how can the clinic reach you?" step, offered (``contact_offer``) once the conversation is flagged;
- ``GET /static/widget.js`` and ``/static/widget.css``, and a demo page at ``GET /demo``.

The conversation id is the session id inside a verified token; a token that was edited or
signed with another secret gets 403, so nobody can choose which conversation they join.
"""

from __future__ import annotations

import asyncio
import logging
import re
import uuid
from functools import lru_cache
from pathlib import Path
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from rasa.core.channels.channel import InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.dispatch import Assistant, Dispatcher, Inbound
from bot.channels.http import RequestError, bearer_token, parse_json_object, read_body
from bot.channels.messages import ChannelTexts, clinic_template_values, load_channel_texts
from bot.channels.named import NamedInputChannel
from bot.channels.security import SessionSigner, widget_secret
from bot.channels.text import neutralise, tel_link
from bot.channels.widget_contact import contact_texts, leave_contact, should_offer
from bot.channels.widget_history import bot_message, history, since_last_silence
from bot.channels.widget_photo import (
    ConsentMissingError,
    body_limit,
    own_thumbnail,
    parse_upload,
    photo_config,
    photo_entries,
    store_upload,
)
from bot.media.images import ImageRefusedError
from bot.media.intake import PhotoMessage
from bot.media.texts import load_photo_texts
from bot.names import TRIAGE_LEVEL
from bot.storage import outbound
from bot.storage.masking import mask_identity

logger = logging.getLogger(__name__)

CHANNEL = "widget"
STATIC_DIR = Path(__file__).with_name("static")
STATIC_FILES: Mapping[str, str] = {
    "widget.js": "application/javascript; charset=utf-8",
    "widget.css": "text/css; charset=utf-8",
    "demo.css": "text/css; charset=utf-8",
}
DEMO_PAGE = "demo.html"
MAX_TEXT = 2000
SESSION_DAYS = 30
_CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}
DEMO_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def parse_message_request(data: Mapping[str, Any]) -> Tuple[str, str]:
    """Return (text, client message id) from a ``/message`` body; 400 when unusable."""
    text = data.get("text")
    if not isinstance(text, str):
        raise RequestError(400, "text missing")
    text = neutralise(text)
    if not text:
        raise RequestError(400, "empty message")
    # Longer than the widget lets anyone type (a client that bypasses it): still read and
    # triaged whole, bounded for NLU and answered with "please send a shorter message".
    client_id = data.get("id")
    if client_id is None:
        return text, uuid.uuid4().hex
    if not isinstance(client_id, str) or not _CLIENT_ID.match(client_id):
        raise RequestError(400, "bad message id")
    return text, client_id


def message_id(session_id: str, client_id: str) -> str:
    """The inbox and Rasa message id of a widget message (client ids are unique per session)."""
    return f"{session_id}:{client_id}"


def widget_config(texts: ChannelTexts, clinic: Optional[Mapping[str, str]]) -> Dict[str, Any]:
    """The labels, suggestions and clinic numbers the widget needs before the first message."""
    values = texts.clinic_values(clinic)
    labels = {
        key: texts.render(value, **values) for key, value in texts.widget.items() if isinstance(value, str)
    }
    return {
        "labels": labels,
        "suggestions": list(texts.widget.get("suggestions", [])),
        "clinic": {
            "name": values["clinic_name"],
            "phone": values["clinic_phone"],
            "phone_link": tel_link(values["clinic_phone"]),
            "emergency_number": values["emergency_number"],
            "emergency_link": tel_link(values["emergency_number"]),
        },
        "max_length": MAX_TEXT,
        "contact": contact_texts()["labels"],
    }


@lru_cache(maxsize=8)
def _static_file(name: str) -> bytes:
    return (STATIC_DIR / name).read_bytes()


def _origins(value: Any) -> Tuple[str, ...]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, (list, tuple)):
        return ()
    return tuple(str(origin).strip().rstrip("/") for origin in value if str(origin).strip())


class WidgetInput(NamedInputChannel):
    """The website widget's HTTP channel (see the module docstring for its endpoints)."""

    CHANNEL = CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Build the channel; without a ``secret`` it uses (in development) one kept in ``var/``."""
        credentials = credentials or {}
        secret = widget_secret(cls.environment_settings(), credentials.get("secret") or None)
        days = int(credentials.get("session_days") or SESSION_DAYS)
        return cls(
            SessionSigner(secret, max_age_seconds=days * 24 * 3600),
            allowed_origins=_origins(credentials.get("allowed_origins")),
        )

    def __init__(
        self,
        signer: SessionSigner,
        allowed_origins: Sequence[str] = (),
        dispatcher: Optional[Dispatcher] = None,
        texts: Optional[ChannelTexts] = None,
    ) -> None:
        self.signer = signer
        self.allowed_origins = tuple(allowed_origins)
        self.dispatcher = dispatcher or Dispatcher(CHANNEL)
        self._texts = texts

    @property
    def texts(self) -> ChannelTexts:
        """The widget's labels."""
        if self._texts is None:
            self._texts = load_channel_texts()
        return self._texts

    def _cors(self, request: Request) -> Dict[str, str]:
        # Only "simple" requests (text/plain bodies, no custom headers) are made across
        # origins, so browsers send no preflight that Rasa's own CORS handling would answer.
        origin = (request.headers.get("origin") or "").rstrip("/")
        if not origin or not ("*" in self.allowed_origins or origin in self.allowed_origins):
            return {}
        return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}

    def _json(self, request: Request, body: Any, status: int = 200) -> HTTPResponse:
        headers = {**SECURITY_HEADERS, **self._cors(request), "Cache-Control": "no-store"}
        return response.json(body, status=status, headers=headers)

    def _session(self, request: Request, data: Optional[Mapping[str, Any]] = None) -> str:
        headers = {name.lower(): value for name, value in request.headers.items()}
        token = bearer_token(headers) or (data or {}).get("token")
        session_id = self.signer.verify(token if isinstance(token, str) else None)
        if session_id is None:
            raise RequestError(403, "invalid session")
        return session_id

    async def _tracker(self, request: Request, session_id: str) -> Any:
        conversation = self.dispatcher.conversation(session_id)
        return await request.app.ctx.agent.tracker_store.retrieve(conversation)

    def _outbound_rows(self, conversation: str) -> List[Dict[str, Any]]:
        """Staff replies and notices the worker released, marked delivered: the patient now has them."""

        def work(session: Any) -> List[Dict[str, Any]]:
            rows = outbound.for_conversation(
                session=session,
                conversation_id=conversation,
                statuses=(outbound.STATUS_SENT, outbound.STATUS_DELIVERED),
            )
            outbound.mark_delivered(session=session, rows=rows)
            return [
                {
                    "id": row.id,
                    "kind": row.kind,
                    "text": row.text,
                    "buttons": row.button_list,
                    "at": (row.sent_at or row.created_at).timestamp(),
                }
                for row in rows
            ]

        return self.dispatcher.write(work)

    async def _history(self, request: Request, session_id: str) -> HTTPResponse:
        conversation = self.dispatcher.conversation(session_id)
        try:
            rows = await asyncio.to_thread(self._outbound_rows, conversation)
        except Exception:  # the transcript still loads without staff messages
            logger.exception("widget: could not read staff messages")
            rows = []
        try:
            photos = await asyncio.to_thread(
                self.dispatcher.write, lambda db: photo_entries(db, conversation)
            )
        except Exception:  # the transcript still loads without the photos
            logger.exception("widget: could not read the conversation's photos")
            photos = []
        conversation_store = request.app.ctx.agent.tracker_store
        tracker = await conversation_store.retrieve_full_tracker(conversation)
        expiry_minutes = request.app.ctx.agent.domain.session_config.session_expiration_time
        events = [event.as_dict() for event in tracker.events] if tracker is not None else []
        if expiry_minutes:
            events = since_last_silence(events, float(expiry_minutes) * 60)
        triage_level = tracker.get_slot(TRIAGE_LEVEL) if tracker is not None else None
        body = {"messages": history(events, outbound=rows, photos=photos), "triage_level": triage_level}
        return self._json(request, {**body, "contact_offer": await self._contact_offer(session_id)})

    async def _contact_offer(self, session_id: str) -> bool:
        """Whether to offer the "how can the clinic reach you?" step (never fails the reply)."""
        conversation = self.dispatcher.conversation(session_id)
        try:
            return await asyncio.to_thread(should_offer, self.dispatcher.factory(), conversation)
        except Exception as error:  # noqa: BLE001 - the step is optional; the answer is not
            logger.warning("widget: contact step unavailable (%s)", type(error).__name__)
            return False

    async def _reply(
        self,
        request: Request,
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
        session_id: str,
        text: Optional[str],
        client_id: str,
        media: Optional[str] = None,
    ) -> HTTPResponse:
        # The message id is unique per session; a retry of the same id (the browser gave up
        # on the first request) gets the replies stored for it, never a second turn.
        item = Inbound(message_id(session_id, client_id), session_id, text=text, media=media)
        try:
            answer = await self.dispatcher.answer(item, Assistant(on_new_message, request.app))
        except Exception:  # ProcessingError too: the message stays in the inbox
            logger.exception("widget: failed to handle a message from %s", mask_identity(CHANNEL, session_id))
            return self._json(request, {"error": "server error"}, status=500)
        tracker = await self._tracker(request, session_id)
        body: Dict[str, Any] = {
            "messages": [
                bot_message(r.get("text"), r.get("utter_action"), r.get("buttons")) for r in answer.replies
            ],
            "triage_level": tracker.get_slot(TRIAGE_LEVEL) if tracker is not None else None,
        }
        if answer.duplicate:
            body["duplicate"] = True
        body["contact_offer"] = await self._contact_offer(session_id)
        return self._json(request, body)

    async def _photo(
        self, request: Request, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> HTTPResponse:
        """Check and store an uploaded photo, then answer it as a message with a photo."""
        intake = self.dispatcher.photos
        texts = load_photo_texts()
        try:
            data = parse_json_object(await read_body(request, limit=body_limit(intake.max_bytes)))
            session_id = self._session(request, data)
            _, client_id = parse_message_request({"text": "photo", "id": data.get("id")})
            upload = parse_upload(data, intake.max_bytes)
            mid = message_id(session_id, client_id)
            message = PhotoMessage(
                CHANNEL, self.dispatcher.conversation(session_id), session_id, mid, upload.caption
            )
            await store_upload(intake, message, upload)
        except RequestError as error:
            if error.status == 413:
                return self._json(request, {"error": "too_large", "message": texts.say("too_large")}, 413)
            return self._json(request, {"error": error.reason}, status=error.status)
        except ImageRefusedError as refused:
            status = 413 if refused.reason == "too_large" else 415
            return self._json(
                request, {"error": refused.reason, "message": texts.say(refused.reason)}, status
            )
        except ConsentMissingError:
            return self._json(
                request, {"error": "consent_required", "message": texts.say("consent_required")}, 400
            )
        except Exception:
            logger.exception("widget: could not store a photo from %s", mask_identity(CHANNEL, session_id))
            return self._json(request, {"error": "server error"}, status=500)
        return await self._reply(
            request, on_new_message, session_id, upload.caption, client_id, media="image"
        )

    async def _thumbnail(self, request: Request, photo_id: int) -> HTTPResponse:
        """One of the patient's own photos, small: only for their session, never cached."""
        try:
            data = parse_json_object(await read_body(request)) if request.method == "POST" else None
            session_id = self._session(request, data)
        except RequestError as error:
            status = 401 if error.status == 403 else error.status
            return self._json(request, {"error": error.reason}, status=status)
        conversation = self.dispatcher.conversation(session_id)
        found = await asyncio.to_thread(
            self.dispatcher.write, lambda db: own_thumbnail(db, conversation, photo_id)
        )
        try:
            image = await asyncio.to_thread(self.dispatcher.photos.store.read, found[0]) if found else None
        except FileNotFoundError:  # purged meanwhile
            image = None
        if found is None or image is None:
            return self._json(request, {"error": "not found"}, status=404)
        headers = {**SECURITY_HEADERS, **self._cors(request), "Cache-Control": "no-store, private"}
        return response.raw(image, content_type=found[1], headers=headers)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: health, config, session, message, history, static files and the demo page."""
        webhook = Blueprint("aftercare_widget", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return self._json(request, {"status": "ok"})

        @webhook.route("/config", methods=["GET"])
        async def config(request: Request) -> HTTPResponse:
            clinic = clinic_template_values()
            body = widget_config(self.texts, clinic)
            body["photo"] = photo_config(load_photo_texts(), clinic, self.dispatcher.photos.max_bytes)
            return self._json(request, body)

        @webhook.route("/session", methods=["POST"])
        async def session(request: Request) -> HTTPResponse:
            return self._json(request, {"token": self.signer.issue()})

        @webhook.route("/history", methods=["GET", "POST"], stream=True)
        async def read_history(request: Request) -> HTTPResponse:
            # GET carries the token in the header; POST (what the widget sends) in the body.
            try:
                data = parse_json_object(await read_body(request)) if request.method == "POST" else None
                session_id = self._session(request, data)
            except RequestError as error:
                return self._json(request, {"error": error.reason}, status=error.status)
            return await self._history(request, session_id)

        @webhook.route("/message", methods=["POST"], stream=True)
        async def message(request: Request) -> HTTPResponse:
            try:
                data = parse_json_object(await read_body(request))
                session_id = self._session(request, data)
                text, client_id = parse_message_request(data)
            except RequestError as error:
                return self._json(request, {"error": error.reason}, status=error.status)
            return await self._reply(request, on_new_message, session_id, text, client_id)

        @webhook.route("/photo", methods=["POST"], stream=True)
        async def photo(request: Request) -> HTTPResponse:
            return await self._photo(request, on_new_message)

        @webhook.route("/photo/<photo_id:int>/thumbnail", methods=["GET", "POST"], stream=True)
        async def thumbnail(request: Request, photo_id: int) -> HTTPResponse:
            return await self._thumbnail(request, photo_id)

        @webhook.route("/contact", methods=["POST"], stream=True)
        async def contact(request: Request) -> HTTPResponse:
            # The optional contact step (bot.channels.widget_contact); the value is never logged.
            try:
                data = parse_json_object(await read_body(request))
                session_id = self._session(request, data)
            except RequestError as error:
                return self._json(request, {"error": error.reason}, status=error.status)
            conversation = self.dispatcher.conversation(session_id)
            status, body = await asyncio.to_thread(
                leave_contact, self.dispatcher.factory(), conversation, data
            )
            return self._json(request, body, status=status)

        @webhook.listener("after_server_start")
        async def start_worker(app: Any, _: Any) -> None:
            # Finishes (and stores the replies of) messages a restart left pending.
            self.dispatcher.start(Assistant(on_new_message, app))

        @webhook.route("/static/<name>", methods=["GET"])
        async def static(request: Request, name: str) -> HTTPResponse:
            if name not in STATIC_FILES:
                return response.text("not found", status=404)
            headers = {**SECURITY_HEADERS, "Cache-Control": "public, max-age=300"}
            return response.raw(_static_file(name), content_type=STATIC_FILES[name], headers=headers)

        @webhook.route("/demo", methods=["GET"])
        async def demo(request: Request) -> HTTPResponse:
            headers = {**SECURITY_HEADERS, "Content-Security-Policy": DEMO_CSP, "Cache-Control": "no-cache"}
            return response.raw(
                _static_file(DEMO_PAGE), content_type="text/html; charset=utf-8", headers=headers
            )

        return webhook
