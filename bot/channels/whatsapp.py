"""WhatsApp Cloud API connector: verified webhooks in, Graph API messages out.

Meta calls ``GET /webhooks/whatsapp/webhook`` once to verify the subscription and then
``POST``s every event there, signed with the app secret in ``X-Hub-Signature-256``.
Replies go to ``POST {api_base}/{phone_number_id}/messages`` with the access token.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Any, Dict, List, Mapping, Optional, Tuple

from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.dispatch import Inbound, StatusUpdate
from bot.channels.http import Delivery, RequestError, lower_headers, parse_json_object
from bot.channels.provider import ProviderInput, ProviderRequest, api_base_variable, provider_variables
from bot.channels.security import meta_signature_valid, secret_matches
from bot.media.fetch import MediaFetchError, download, fetch_json
from bot.media.settings import media_settings

logger = logging.getLogger(__name__)

CHANNEL = "whatsapp"
DEFAULT_API_BASE = "https://graph.facebook.com/v19.0"
MAX_BUTTONS = 3
MAX_BUTTON_TITLE = 20
MEDIA_TYPES = frozenset({"image", "audio", "video", "document", "sticker", "location", "contacts"})
# Events that carry no words from the patient and need no answer.
SILENT_TYPES = frozenset({"reaction", "system", "ephemeral", "order", "request_welcome"})
# A business-scoped user id (BSUID): country code, a dot, up to 128 letters and digits.
# Meta's customer-service window: free-form messages only this long after the patient's last one.
REPLY_WINDOW = timedelta(hours=24)
# Meta's message statuses -> ours ("read" implies delivered).
STATUS_OF = {"sent": "sent", "delivered": "delivered", "read": "delivered", "failed": "failed"}
_BSUID = re.compile(r"^[A-Z]{2}\.(ENT\.)?[A-Za-z0-9]{1,128}$")


def subscription_challenge(query: Mapping[str, str], verify_token: str) -> Optional[str]:
    """Return ``hub.challenge`` when Meta's verification request carries our verify token."""
    if query.get("hub.mode") != "subscribe" or not secret_matches(
        query.get("hub.verify_token"), verify_token
    ):
        return None
    return query.get("hub.challenge") or None


def _sender(message: Mapping[str, Any], contacts: List[Any]) -> Optional[str]:
    """The patient's id: the phone number, or the BSUID when the number is withheld (usernames)."""
    for value in (message.get("from"), message.get("from_user_id")):
        if isinstance(value, str) and value:
            return value
    ids = [c.get("user_id") or c.get("wa_id") for c in contacts if isinstance(c, dict)]
    ids = [value for value in ids if isinstance(value, str) and value]
    return ids[0] if len(ids) == 1 else None


def _message_words(message: Mapping[str, Any], sender: str) -> Optional[Inbound]:
    kind = str(message.get("type", ""))
    message_id = message.get("id")
    if not isinstance(message_id, str) or not message_id:
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
    # "unsupported" (a poll, a view-once message...) is not a photo: it is answered as an
    # attachment we cannot read, and flagged like one.
    media = kind if kind in MEDIA_TYPES else "other"
    if kind == "audio" and details.get("voice"):
        media = "voice"
    media_id = details.get("id") if kind == "image" and isinstance(details.get("id"), str) else None
    return Inbound(message_id, sender, text=caption, media=media, media_ref=media_id)


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
            raw_contacts = value.get("contacts")
            contacts: List[Any] = raw_contacts if isinstance(raw_contacts, list) else []
            for message in value.get("messages") or []:
                sender = _sender(message, contacts) if isinstance(message, dict) else None
                item = _message_words(message, sender) if sender else None
                if item is not None:
                    inbound.append(item)
    return inbound


def parse_statuses(data: Mapping[str, Any]) -> List[StatusUpdate]:
    """The delivery statuses in a webhook payload (Meta sends them beside messages)."""
    updates: List[StatusUpdate] = []
    for entry in data.get("entry") or []:
        for change in (entry.get("changes") or []) if isinstance(entry, dict) else []:
            value = change.get("value") if isinstance(change, dict) else None
            for status in (value.get("statuses") or []) if isinstance(value, dict) else []:
                if not isinstance(status, dict) or not isinstance(status.get("id"), str):
                    continue
                ours = STATUS_OF.get(str(status.get("status")))
                if ours is not None:
                    errors = status.get("errors") or []
                    code = errors[0].get("code") if errors and isinstance(errors[0], dict) else None
                    updates.append(
                        StatusUpdate(status["id"], ours, f"whatsapp error {code}" if code else None)
                    )
    return updates


def template_payload(recipient: str, template: Mapping[str, Any]) -> Dict[str, Any]:
    """A Graph API template message (the only kind allowed outside the reply window)."""
    body: Dict[str, Any] = {
        "name": str(template["name"]),
        "language": {"code": str(template.get("language") or "en")},
    }
    parameters = [str(p) for p in template.get("parameters") or []]
    if parameters:
        body["components"] = [
            {"type": "body", "parameters": [{"type": "text", "text": p} for p in parameters]}
        ]
    return {**_addressed(recipient), "type": "template", "template": body}


def read_webhook(
    headers: Mapping[str, str], body: bytes, app_secret: str, phone_number_id: str
) -> List[Inbound]:
    """Authenticate (403) and parse (400) one webhook delivery."""
    if not meta_signature_valid(body, headers.get("x-hub-signature-256"), app_secret):
        raise RequestError(403, "bad signature")
    return parse_webhook(parse_json_object(body), phone_number_id)


def _addressed(recipient: str) -> Dict[str, Any]:
    # A patient known only by BSUID is addressed with "recipient" instead of a phone number.
    key = "recipient" if _BSUID.match(recipient) else "to"
    return {"messaging_product": "whatsapp", "recipient_type": "individual", key: recipient}


def text_payload(recipient: str, text: str) -> Dict[str, Any]:
    """A Graph API text message."""
    return {**_addressed(recipient), "type": "text", "text": {"preview_url": False, "body": text}}


def buttons_payload(recipient: str, text: str, titles: List[str]) -> Dict[str, Any]:
    """A Graph API interactive message with reply buttons (the tapped title comes back as text)."""
    buttons = [{"type": "reply", "reply": {"id": f"b{i}", "title": t}} for i, t in enumerate(titles)]
    return {
        **_addressed(recipient),
        "type": "interactive",
        "interactive": {"type": "button", "body": {"text": text[:1024]}, "action": {"buttons": buttons}},
    }


class WhatsAppInput(ProviderInput):
    """Receive WhatsApp Cloud API webhooks at ``/webhooks/whatsapp/webhook``."""

    CHANNEL = CHANNEL
    REQUIRED = provider_variables(CHANNEL, "verify_token", "app_secret", "access_token", "phone_number_id")
    OPTIONAL = api_base_variable(CHANNEL, DEFAULT_API_BASE)
    MAX_TEXT = 4096

    def read(self, request: Request, body: bytes) -> List[Inbound]:
        """Check the signature and read the messages."""
        return read_webhook(
            lower_headers(request), body, self.config["app_secret"], self.config["phone_number_id"]
        )

    def text_request(self, recipient: str, text: str) -> ProviderRequest:
        """A text message."""
        return {"recipient": recipient, "body": text_payload(recipient, text)}

    def button_requests(self, recipient: str, text: str, titles: List[str]) -> List[ProviderRequest]:
        """Reply buttons when WhatsApp allows them, else the choices as lines of text."""
        if len(titles) <= MAX_BUTTONS and all(len(t) <= MAX_BUTTON_TITLE for t in titles):
            return [{"recipient": recipient, "body": buttons_payload(recipient, text, titles)}]
        return super().button_requests(recipient, text, titles)

    def image_requests(self, recipient: str, url: str) -> List[ProviderRequest]:
        """An image by link."""
        return [
            {
                "recipient": recipient,
                "body": {**_addressed(recipient), "type": "image", "image": {"link": url}},
            }
        ]

    async def deliver(self, request: Mapping[str, Any]) -> Delivery:
        """POST the message to the Graph API."""
        outcome, _ = await self.deliver_tracked(request)
        return outcome

    async def deliver_tracked(self, request: Mapping[str, Any]) -> Tuple[Delivery, Optional[str]]:
        """POST the message; return the outcome and the message id (``wamid``) its statuses will name."""
        url = f"{self.config['api_base'].rstrip('/')}/{self.config['phone_number_id']}/messages"
        headers = {"Authorization": f"Bearer {self.config['access_token']}"}
        outcome, answer = await self.client.post_tracked(url, json_body=request["body"], headers=headers)
        messages = answer.get("messages") if isinstance(answer, dict) else None
        first = (
            messages[0] if isinstance(messages, list) and messages and isinstance(messages[0], dict) else {}
        )
        provider_id = first.get("id")
        return outcome, provider_id if isinstance(provider_id, str) else None

    def reply_window(self) -> Optional[timedelta]:
        """Free text only within 24 hours of the patient's last message."""
        return REPLY_WINDOW

    def template_requests(self, recipient: str, template: Mapping[str, Any]) -> List[ProviderRequest]:
        """An approved template message."""
        return [{"recipient": recipient, "body": template_payload(recipient, template)}]

    def statuses(self, body: bytes) -> List[StatusUpdate]:
        """Meta's status callbacks for messages we sent (the body is already authenticated)."""
        return parse_statuses(parse_json_object(body))

    async def fetch_media(self, media_id: str) -> bytes:
        """A photo: the Graph media endpoint names a short-lived URL, fetched with the same token."""
        settings = media_settings()
        headers = {"Authorization": f"Bearer {self.config['access_token']}"}
        base = self.config["api_base"].rstrip("/")
        info = await fetch_json(f"{base}/{media_id}", headers=headers, timeout=settings.fetch_timeout)
        url = info.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise MediaFetchError("no media url", permanent=True)
        limit, timeout = settings.max_bytes, settings.fetch_timeout
        return await download(url, headers=headers, max_bytes=limit, timeout=timeout)

    def add_routes(self, webhook: Blueprint) -> None:
        """Meta's subscription check."""

        @webhook.route("/webhook", methods=["GET"])
        async def verify(request: Request) -> HTTPResponse:
            query = {key: request.args.get(key) for key in request.args}
            challenge = subscription_challenge(query, self.config["verify_token"])
            if challenge is None:
                return response.text("forbidden", status=403)
            return response.text(challenge)
