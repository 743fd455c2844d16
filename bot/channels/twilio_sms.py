"""Twilio SMS connector: Rasa's ``TwilioInput`` with request signatures checked.

Rasa's own connector answers anyone who posts a form to its URL. This one checks
``X-Twilio-Signature`` with Twilio's ``RequestValidator`` against the public URL Twilio
called (``AFTERCARE_PUBLIC_URL`` behind a proxy), records each ``MessageSid`` once, and
sends replies through Twilio's REST API at a configurable base URL.
"""

from __future__ import annotations

import logging
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional
from urllib.parse import parse_qs

import aiohttp
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.twilio import TwilioInput as RasaTwilioInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from twilio.request_validator import RequestValidator

from bot.channels.dispatch import Dispatcher, Inbound
from bot.channels.http import ProviderClient, RequestError, lower_headers, read_body
from bot.channels.text import split_for_provider
from bot.storage.masking import mask_identity

logger = logging.getLogger(__name__)

CHANNEL = "twilio"
DEFAULT_API_BASE = "https://api.twilio.com"
SIGNATURE_HEADER = "x-twilio-signature"
MAX_TEXT = 1600
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
    """Return the patient message in a Twilio messaging webhook."""

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
        return [Inbound(message_id, sender, text=text, media=_media_kind(first("MediaContentType0")))]
    return [Inbound(message_id, sender, text=text)] if text else []


def read_webhook(url: str, headers: Mapping[str, str], body: bytes, auth_token: str) -> List[Inbound]:
    """Authenticate (403) and parse (400) one webhook delivery."""
    params = parse_form(body)
    if not signature_valid(auth_token, url, params, headers.get(SIGNATURE_HEADER)):
        raise RequestError(403, "bad signature")
    return parse_message(params)


def public_request_url(request: Request, public_url: Optional[str]) -> str:
    """The URL Twilio signed: ours as the world sees it, not as the proxy forwarded it."""
    if not public_url:
        return str(request.url)
    query = f"?{request.query_string}" if request.query_string else ""
    return f"{public_url.rstrip('/')}{request.path}{query}"


class TwilioOutput(OutputChannel):
    """Send SMS (or WhatsApp-through-Twilio) replies with Twilio's Messages API."""

    def __init__(self, api_base: str, account_sid: str, auth_token: str, number: str) -> None:
        self.url = f"{api_base.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self.auth = aiohttp.BasicAuth(account_sid, auth_token)
        self.number = number
        self.client = ProviderClient("Twilio")

    @classmethod
    def name(cls) -> str:
        """The channel's name."""
        return CHANNEL

    def _sender_for(self, recipient_id: str) -> str:
        # A patient writing on WhatsApp through Twilio must be answered from the WhatsApp address.
        if recipient_id.startswith("whatsapp:") and not self.number.startswith("whatsapp:"):
            return f"whatsapp:{self.number}"
        return self.number

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send text, split at Twilio's 1600-character limit."""
        for piece in split_for_provider(text, MAX_TEXT):
            form = {"To": recipient_id, "From": self._sender_for(recipient_id), "Body": piece}
            if await self.client.post(self.url, form=form, auth=self.auth) is None:
                logger.error("twilio: reply to %s was not delivered", mask_identity(CHANNEL, recipient_id))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        """SMS has no buttons: send the choices as lines the patient can type back."""
        titles = [str(button.get("title", "")).strip() for button in buttons if button.get("title")]
        await self.send_text_message(recipient_id, "\n".join([text, *(f"• {t}" for t in titles)]))


class TwilioInput(RasaTwilioInput):
    """Receive Twilio messaging webhooks at ``/webhooks/twilio/webhook``, signed requests only."""

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Build the channel from its credentials block."""
        config: Dict[str, Any] = dict(credentials or {})
        if not config:
            cls.raise_missing_credentials_exception()
        return cls(
            account_sid=config.get("account_sid"),
            auth_token=config.get("auth_token"),
            twilio_number=config.get("twilio_number"),
            api_base=str(config.get("api_base") or DEFAULT_API_BASE),
            public_url=config.get("public_url") or None,
        )

    def __init__(
        self,
        account_sid: Optional[str],
        auth_token: Optional[str],
        twilio_number: Optional[str],
        debug_mode: bool = False,
        api_base: str = DEFAULT_API_BASE,
        public_url: Optional[str] = None,
        dispatcher: Optional[Dispatcher] = None,
    ) -> None:
        if not account_sid or not auth_token or not twilio_number:
            raise ValueError("the twilio channel needs account_sid, auth_token and twilio_number")
        super().__init__(account_sid, auth_token, twilio_number, debug_mode=debug_mode)
        self.api_base = api_base
        self.public_url = public_url
        self.dispatcher = dispatcher or Dispatcher(CHANNEL)

    def get_output_channel(self) -> OutputChannel:
        """The Messages API sender."""
        return TwilioOutput(
            self.api_base, str(self.account_sid), str(self.auth_token), str(self.twilio_number)
        )

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: health and message delivery."""
        webhook = Blueprint("aftercare_twilio_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = await read_body(request)
                url = public_request_url(request, self.public_url)
                items = read_webhook(url, lower_headers(request), body, str(self.auth_token))
            except RequestError as error:
                return response.text(error.reason, status=error.status)
            await self.dispatcher.accept(items, on_new_message, self.get_output_channel())
            return response.text(EMPTY_TWIML, content_type="text/xml")

        return webhook
