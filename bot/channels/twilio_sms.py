"""Twilio SMS connector: signed form posts in, Messages API calls out.

Rasa's own ``TwilioInput`` answers anyone who posts a form to its URL. This one checks
``X-Twilio-Signature`` with Twilio's ``RequestValidator`` against the public URL Twilio
called (``AFTERCARE_PUBLIC_URL`` behind a proxy), and sends replies through Twilio's REST
API at a configurable base URL.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Mapping, Optional, Tuple
from urllib.parse import parse_qs

import aiohttp
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels.dispatch import Inbound, StatusUpdate
from bot.channels.http import Delivery, RequestError, lower_headers, read_body
from bot.channels.provider import ProviderInput, ProviderRequest, api_base_variable, provider_variables
from bot.media.fetch import MediaFetchError, download
from bot.media.settings import media_settings

logger = logging.getLogger(__name__)

CHANNEL = "twilio"
DEFAULT_API_BASE = "https://api.twilio.com"
PUBLIC_URL = "AFTERCARE_PUBLIC_URL"
SIGNATURE_HEADER = "x-twilio-signature"
STATUS_PATH = "/webhooks/twilio/status"
# Twilio's MessageStatus values -> ours; queued/accepted/sending say nothing new.
STATUS_OF = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "delivered",
    "undelivered": "failed",
    "failed": "failed",
}
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


class FormParams(dict):
    """Form fields as lists of values, with the ``getall`` the validator looks for."""

    def getall(self, name: str) -> List[str]:
        """Every value of ``name``."""
        return list(self[name])


def parse_form(body: bytes) -> FormParams:
    """Parse an ``application/x-www-form-urlencoded`` body (400 if it is not text)."""
    try:
        return FormParams(parse_qs(body.decode("utf-8"), keep_blank_values=True))
    except (UnicodeDecodeError, ValueError):
        raise RequestError(400, "malformed form body") from None


def signature_valid(auth_token: str, url: str, params: Mapping[str, Any], signature: Optional[str]) -> bool:
    """Check ``X-Twilio-Signature`` for a request to ``url`` with form ``params``."""
    if not signature or not auth_token:
        return False
    return bool(RequestValidator(auth_token).validate(url, params, signature))


def _media_kind(content_type: str) -> str:
    major = content_type.split("/", 1)[0].lower()
    return {"image": "image", "audio": "audio", "video": "video"}.get(major, "document")


def parse_message(params: FormParams) -> List[Inbound]:
    """Return the patient message in a Twilio messaging webhook.

    A WhatsApp location sent through Twilio has no ``Body``, only ``Latitude`` and
    ``Longitude``: it is answered like any attachment we cannot read, never with silence.
    """

    def first(name: str) -> str:
        values = params.get(name) or [""]
        return values[0]

    message_id = first("MessageSid") or first("SmsSid")
    sender = first("From")
    if not message_id or not sender:
        raise RequestError(400, "not a Twilio message")
    text = first("Body") or None
    media_count = first("NumMedia")
    if media_count.isdigit() and int(media_count) > 0:
        kind = _media_kind(first("MediaContentType0"))
        media_url = first("MediaUrl0") if kind == "image" else ""
        return [Inbound(message_id, sender, text=text, media=kind, media_ref=media_url or None)]
    if first("Latitude") and first("Longitude"):
        return [Inbound(message_id, sender, text=text, media="location")]
    return [Inbound(message_id, sender, text=text)] if text else []


def read_webhook(url: str, headers: Mapping[str, str], body: bytes, auth_token: str) -> List[Inbound]:
    """Authenticate (403) and parse (400) one webhook delivery."""
    params = parse_form(body)
    if not signature_valid(auth_token, url, params, headers.get(SIGNATURE_HEADER)):
        raise RequestError(403, "bad signature")
    return parse_message(params)


def parse_status(params: FormParams) -> List[StatusUpdate]:
    """The delivery status in a Twilio ``StatusCallback`` post."""
    sid = (params.get("MessageSid") or [""])[0]
    ours = STATUS_OF.get((params.get("MessageStatus") or [""])[0])
    if not sid or ours is None:
        return []
    code = (params.get("ErrorCode") or [""])[0]
    return [StatusUpdate(sid, ours, f"twilio error {code}" if code else None)]


def public_request_url(request: Request, public_url: Optional[str]) -> str:
    """The URL Twilio signed: ours as the world sees it, not as the proxy forwarded it."""
    if not public_url:
        return str(request.url)
    query = f"?{request.query_string}" if request.query_string else ""
    return f"{public_url.rstrip('/')}{request.path}{query}"


class TwilioInput(ProviderInput):
    """Receive Twilio messaging webhooks at ``/webhooks/twilio/webhook``, signed requests only."""

    CHANNEL = CHANNEL
    REQUIRED = provider_variables(CHANNEL, "account_sid", "auth_token", twilio_number="NUMBER")
    OPTIONAL = {**api_base_variable(CHANNEL, DEFAULT_API_BASE), "public_url": (PUBLIC_URL, "")}
    MAX_TEXT = 1600

    def read(self, request: Request, body: bytes) -> List[Inbound]:
        """Check the signature against the public URL and read the form."""
        url = public_request_url(request, self.config.get("public_url") or None)
        return read_webhook(url, lower_headers(request), body, self.config["auth_token"])

    def _sender_for(self, recipient: str) -> str:
        # A patient writing on WhatsApp through Twilio must be answered from the WhatsApp address.
        number = self.config["twilio_number"]
        if recipient.startswith("whatsapp:") and not number.startswith("whatsapp:"):
            return f"whatsapp:{number}"
        return number

    def text_request(self, recipient: str, text: str) -> ProviderRequest:
        """One SMS (SMS has no buttons: the base class sends choices as lines)."""
        return {
            "recipient": recipient,
            "body": {"To": recipient, "From": self._sender_for(recipient), "Body": text},
        }

    async def deliver(self, request: Mapping[str, Any]) -> Delivery:
        """POST the message to the Messages API."""
        outcome, _ = await self.deliver_tracked(request)
        return outcome

    async def deliver_tracked(self, request: Mapping[str, Any]) -> Tuple[Delivery, Optional[str]]:
        """POST the message, asking for status callbacks when we have a public URL; return its SID."""
        sid = self.config["account_sid"]
        url = f"{self.config['api_base'].rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"
        auth = aiohttp.BasicAuth(sid, self.config["auth_token"])
        form: Dict[str, str] = dict(request["body"])
        public_url = self.config.get("public_url")
        if public_url:
            form["StatusCallback"] = f"{public_url.rstrip('/')}{STATUS_PATH}"
        outcome, answer = await self.client.post_tracked(url, form=form, auth=auth)
        message_sid = answer.get("sid") if isinstance(answer, dict) else None
        return outcome, message_sid if isinstance(message_sid, str) else None

    def add_routes(self, webhook: Blueprint) -> None:
        """Twilio's ``StatusCallback``: signed like every Twilio webhook."""

        @webhook.route("/status", methods=["POST"], stream=True)
        async def status(request: Request) -> HTTPResponse:
            try:
                body = await read_body(request)
                url = public_request_url(request, self.config.get("public_url") or None)
                params = parse_form(body)
                if not signature_valid(
                    self.config["auth_token"], url, params, lower_headers(request).get(SIGNATURE_HEADER)
                ):
                    raise RequestError(403, "bad signature")
            except RequestError as error:
                return response.text(error.reason, status=error.status)
            updates = parse_status(params)
            if updates:
                await self.dispatcher.apply_statuses(updates)
            return response.text("", status=204)

    async def fetch_media(self, url: str) -> bytes:
        """A photo at ``MediaUrl0``, fetched with the account's credentials, only from Twilio's API."""
        base = self.config["api_base"].rstrip("/") + "/"
        if not url.startswith(base):
            # The credentials go only to Twilio, never to a host named in a message.
            raise MediaFetchError("media URL outside the Twilio API", permanent=True)
        settings = media_settings()
        auth = aiohttp.BasicAuth(self.config["account_sid"], self.config["auth_token"])
        return await download(url, auth=auth, max_bytes=settings.max_bytes, timeout=settings.fetch_timeout)

    def acknowledge(self) -> HTTPResponse:
        """An empty TwiML answer: the replies go through the API."""
        return response.text(EMPTY_TWIML, content_type="text/xml")
