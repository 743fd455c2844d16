"""WhatsApp Cloud API connector: verified webhooks in, Graph API messages out.

Meta calls ``GET /webhooks/whatsapp/webhook`` once to verify the subscription and then
``POST``s every event there, signed with the app secret in ``X-Hub-Signature-256``.
Replies go to ``POST {api_base}/{phone_number_id}/messages`` with the access token.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.dispatch import Dispatcher, Inbound
from bot.channels.http import ProviderClient, RequestError, lower_headers, parse_json_object, read_body
from bot.channels.security import meta_signature_valid, secret_matches
from bot.channels.text import split_for_provider
from bot.storage.masking import mask_identity

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
DEFAULT_API_BASE = "https://graph.facebook.com/v19.0"
MAX_TEXT = 4096
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MEDIA_TYPES = frozenset(
    {"image", "audio", "video", "document", "sticker", "location", "contacts", "unsupported"}
)
# Events that carry no words from the patient and need no answer.
SILENT_TYPES = frozenset({"reaction", "system", "ephemeral", "order", "request_welcome"})


def subscription_challenge(query: Mapping[str, str], verify_token: str) -> Optional[str]:
    """Return ``hub.challenge`` when Meta's verification request carries our verify token."""
    if query.get("hub.mode") != "subscribe" or not secret_matches(
        query.get("hub.verify_token"), verify_token
    ):
        return None
    return query.get("hub.challenge") or None


def _message_words(message: Mapping[str, Any]) -> Optional[Inbound]:
    kind = str(message.get("type", ""))
    message_id = message.get("id")
    sender = message.get("from")
    if not isinstance(message_id, str) or not isinstance(sender, str) or not message_id or not sender:
        return None
    if kind == "text":
        body = (message.get("text") or {}).get("body")
        return Inbound(message_id, sender, text=body) if isinstance(body, str) else None
    if kind == "interactive":
        interactive = message.get("interactive") or {}
        reply = interactive.get("button_reply") or interactive.get("list_reply") or {}
        title = reply.get("title")
        return Inbound(message_id, sender, text=title) if isinstance(title, str) else None
    if kind == "button":
        label = (message.get("button") or {}).get("text")
        return Inbound(message_id, sender, text=label) if isinstance(label, str) else None
    if kind in SILENT_TYPES:
        return None
    raw_details = message.get(kind)
    details: Mapping[str, Any] = raw_details if isinstance(raw_details, dict) else {}
    caption = details.get("caption") if isinstance(details.get("caption"), str) else None
    media = kind if kind in MEDIA_TYPES and kind != "unsupported" else "other"
    if kind == "audio" and details.get("voice"):
        media = "voice"
    return Inbound(message_id, sender, text=caption, media=media)


def parse_webhook(data: Mapping[str, Any], phone_number_id: str) -> List[Inbound]:
    """Return the patient messages in a webhook payload; status callbacks yield nothing.

    Messages to another phone number of the same business account are left alone: they
    belong to whatever answers that number.
    """
    if data.get("object") != "whatsapp_business_account" or not isinstance(data.get("entry"), list):
        raise RequestError(400, "not a WhatsApp Business Account event")
    inbound: List[Inbound] = []
    for entry in data["entry"]:
        changes = entry.get("changes") if isinstance(entry, dict) else None
        if not isinstance(changes, list):
            raise RequestError(400, "entry without changes")
        for change in changes:
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict) or change.get("field") != "messages":
                continue
            number = (value.get("metadata") or {}).get("phone_number_id")
            if phone_number_id and number != phone_number_id:
                logger.info("whatsapp: ignoring an event for another phone number id")
                continue
            for message in value.get("messages") or []:
                item = _message_words(message) if isinstance(message, dict) else None
                if item is not None:
                    inbound.append(item)
    return inbound


def read_webhook(
    headers: Mapping[str, str], body: bytes, app_secret: str, phone_number_id: str
) -> List[Inbound]:
    """Authenticate (403) and parse (400) one webhook delivery."""
    if not meta_signature_valid(body, headers.get("x-hub-signature-256"), app_secret):
        raise RequestError(403, "bad signature")
    return parse_webhook(parse_json_object(body), phone_number_id)


def text_payload(recipient: str, text: str) -> Dict[str, Any]:
    """A Graph API text message."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient,
        "type": "text",
        "text": {"preview_url": False, "body": text},
    }


def buttons_payload(recipient: str, text: str, titles: List[str]) -> Dict[str, Any]:
    """A Graph API interactive message with reply buttons (the tapped title comes back as text)."""
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": text[:1024]},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": f"b{i}", "title": t}} for i, t in enumerate(titles)
                ]
            },
        },
    }


class WhatsAppOutput(OutputChannel):
    """Send the assistant's replies through the WhatsApp Cloud API."""

    def __init__(self, api_base: str, phone_number_id: str, access_token: str) -> None:
        self.url = f"{api_base.rstrip('/')}/{phone_number_id}/messages"
        self.access_token = access_token
        self.client = ProviderClient("WhatsApp")

    @classmethod
    def name(cls) -> str:
        """The channel's name."""
        return CHANNEL

    async def _send(self, payload: Dict[str, Any]) -> None:
        headers = {"Authorization": f"Bearer {self.access_token}"}
        result = await self.client.post(self.url, json_body=payload, headers=headers)
        if result is None:
            logger.error("whatsapp: reply to %s was not delivered", mask_identity(CHANNEL, payload["to"]))

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send text, split at WhatsApp's length limit."""
        for piece in split_for_provider(text, MAX_TEXT):
            await self._send(text_payload(recipient_id, piece))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        """Send reply buttons when WhatsApp allows them, else the choices as lines of text."""
        titles = [str(button.get("title", "")).strip() for button in buttons if button.get("title")]
        if titles and len(titles) <= MAX_BUTTONS and all(len(t) <= MAX_BUTTON_TITLE for t in titles):
            await self._send(buttons_payload(recipient_id, text, titles))
        else:
            await self.send_text_message(recipient_id, "\n".join([text, *(f"• {t}" for t in titles)]))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Send an image by link."""
        await self._send(
            {"messaging_product": "whatsapp", "to": recipient_id, "type": "image", "image": {"link": image}}
        )


class WhatsAppInput(InputChannel):
    """Receive WhatsApp Cloud API webhooks at ``/webhooks/whatsapp/webhook``."""

    @classmethod
    def name(cls) -> str:
        """The channel's name, also its URL prefix and the flags' channel."""
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Build the channel from its credentials block."""
        config: Dict[str, Any] = dict(credentials or {})
        if not config:
            cls.raise_missing_credentials_exception()
        return cls(
            verify_token=str(config.get("verify_token") or ""),
            app_secret=str(config.get("app_secret") or ""),
            access_token=str(config.get("access_token") or ""),
            phone_number_id=str(config.get("phone_number_id") or ""),
            api_base=str(config.get("api_base") or DEFAULT_API_BASE),
        )

    def __init__(
        self,
        verify_token: str,
        app_secret: str,
        access_token: str,
        phone_number_id: str,
        api_base: str = DEFAULT_API_BASE,
        dispatcher: Optional[Dispatcher] = None,
    ) -> None:
        missing = [
            name
            for name, value in (
                ("verify_token", verify_token),
                ("app_secret", app_secret),
                ("access_token", access_token),
                ("phone_number_id", phone_number_id),
            )
            if not value
        ]
        if missing:
            raise ValueError(f"the whatsapp channel needs {', '.join(missing)}")
        self.verify_token = verify_token
        self.app_secret = app_secret
        self.access_token = access_token
        self.phone_number_id = phone_number_id
        self.api_base = api_base
        self.dispatcher = dispatcher or Dispatcher(CHANNEL)

    def get_output_channel(self) -> OutputChannel:
        """The Graph API sender."""
        return WhatsAppOutput(self.api_base, self.phone_number_id, self.access_token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: health, subscription verification, and event delivery."""
        webhook = Blueprint("aftercare_whatsapp_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            query = {key: request.args.get(key) for key in request.args}
            challenge = subscription_challenge(query, self.verify_token)
            if challenge is None:
                return response.text("forbidden", status=403)
            return response.text(challenge)

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = await read_body(request)
                items = read_webhook(lower_headers(request), body, self.app_secret, self.phone_number_id)
            except RequestError as error:
                return response.text(error.reason, status=error.status)
            await self.dispatcher.accept(items, on_new_message, self.get_output_channel())
            return response.text("ok")

        return webhook
