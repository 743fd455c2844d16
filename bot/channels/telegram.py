"""Telegram connector: Bot API webhooks checked by secret token, replies by plain HTTP calls.

Replaces Rasa's ``TelegramInput``, which asks Telegram who the bot is (``getMe``) on every
message and sends through a client library that cannot be pointed at a test server.
Register the webhook with ``setWebhook`` and the same ``secret_token`` (see docs/channels.md).
"""

from __future__ import annotations

import logging
import re
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.dispatch import Dispatcher, Inbound
from bot.channels.http import ProviderClient, RequestError, lower_headers, parse_json_object, read_body
from bot.channels.messages import load_channel_texts
from bot.channels.security import secret_matches
from bot.channels.text import split_for_provider
from bot.storage.masking import mask_identity

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
DEFAULT_API_BASE = "https://api.telegram.org"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_TEXT = 4096
MAX_CALLBACK_BYTES = 64
MEDIA_FIELDS = {
    "photo": "image",
    "voice": "voice",
    "audio": "audio",
    "video": "video",
    "video_note": "video",
    "animation": "video",
    "document": "document",
    "sticker": "sticker",
    "location": "location",
    "venue": "location",
    "contact": "contacts",
}
_START = re.compile(r"^/start(@\w+)?(\s|$)")


def _bot_id(token: str) -> str:
    return token.split(":", 1)[0]


def _private_chat(message: Mapping[str, Any]) -> Optional[str]:
    chat = message.get("chat")
    if not isinstance(chat, dict) or chat.get("type") != "private" or chat.get("id") is None:
        return None
    return str(chat["id"])


def parse_update(update: Mapping[str, Any], bot_id: str, start_text: str) -> List[Inbound]:
    """Return the patient message in one update; other updates (edits, groups, joins) yield nothing.

    Only private chats are answered: in a group, other members would read the patient's
    health questions and the assistant's answers.
    """
    update_id = update.get("update_id")
    if not isinstance(update_id, int):
        raise RequestError(400, "update without update_id")
    message_id = f"{bot_id}:{update_id}"
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        origin = callback.get("message")
        chat_id = _private_chat(origin) if isinstance(origin, dict) else None
        data = callback.get("data")
        if chat_id is None or not isinstance(data, str):
            return []
        metadata = {"callback_query_id": str(callback.get("id", ""))}
        return [Inbound(message_id, chat_id, text=data, metadata=metadata)]
    message = update.get("message")
    if not isinstance(message, dict):
        return []
    chat_id = _private_chat(message)
    if chat_id is None:
        return []
    text = message.get("text")
    if isinstance(text, str):
        return [Inbound(message_id, chat_id, text=start_text if _START.match(text.strip()) else text)]
    for field_name, media in MEDIA_FIELDS.items():
        if field_name in message:
            caption = message.get("caption") if isinstance(message.get("caption"), str) else None
            return [Inbound(message_id, chat_id, text=caption, media=media)]
    return []


def read_webhook(
    headers: Mapping[str, str], body: bytes, secret_token: str, bot_id: str, start_text: str
) -> List[Inbound]:
    """Authenticate (403) and parse (400) one webhook delivery."""
    if not secret_matches(headers.get(SECRET_HEADER), secret_token):
        raise RequestError(403, "bad secret token")
    return parse_update(parse_json_object(body), bot_id, start_text)


def callback_data(title: str) -> str:
    """Cut a button title to Telegram's 64-byte callback data limit (it comes back as plain text)."""
    data = title.encode("utf-8")[:MAX_CALLBACK_BYTES]
    return data.decode("utf-8", "ignore")


class TelegramOutput(OutputChannel):
    """Send replies with the Bot API's ``sendMessage``."""

    def __init__(self, api_base: str, token: str) -> None:
        self.base = f"{api_base.rstrip('/')}/bot{token}"
        self.client = ProviderClient("Telegram")

    @classmethod
    def name(cls) -> str:
        """The channel's name."""
        return CHANNEL

    async def _call(self, method: str, payload: Dict[str, Any]) -> None:
        result = await self.client.post(f"{self.base}/{method}", json_body=payload)
        if result is None:
            logger.error(
                "telegram: %s for %s failed", method, mask_identity(CHANNEL, str(payload.get("chat_id")))
            )

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send text, split at Telegram's length limit."""
        for piece in split_for_provider(text, MAX_TEXT):
            await self._call("sendMessage", {"chat_id": recipient_id, "text": piece})

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        """Send an inline keyboard whose buttons answer with their own title."""
        titles = [str(button.get("title", "")).strip() for button in buttons if button.get("title")]
        keyboard = [[{"text": t, "callback_data": callback_data(t)}] for t in titles]
        payload = {
            "chat_id": recipient_id,
            "text": text[:MAX_TEXT],
            "reply_markup": {"inline_keyboard": keyboard},
        }
        await self._call("sendMessage", payload)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Send a photo by link."""
        await self._call("sendPhoto", {"chat_id": recipient_id, "photo": image})

    async def answer_callback(self, callback_query_id: str) -> None:
        """Stop the button's spinner in the patient's app."""
        await self._call("answerCallbackQuery", {"callback_query_id": callback_query_id})


class TelegramDispatcher(Dispatcher):
    """Answer button taps before handing their text to Rasa."""

    async def before_processing(self, item: Inbound, output: OutputChannel) -> None:
        """Acknowledge a callback query."""
        callback_id = item.metadata.get("callback_query_id")
        if callback_id and isinstance(output, TelegramOutput):
            await output.answer_callback(str(callback_id))


class TelegramInput(InputChannel):
    """Receive Telegram Bot API webhooks at ``/webhooks/telegram/webhook``."""

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
            access_token=str(config.get("access_token") or ""),
            secret_token=str(config.get("secret_token") or ""),
            api_base=str(config.get("api_base") or DEFAULT_API_BASE),
        )

    def __init__(
        self,
        access_token: str,
        secret_token: str,
        api_base: str = DEFAULT_API_BASE,
        dispatcher: Optional[Dispatcher] = None,
    ) -> None:
        if not access_token or not secret_token:
            raise ValueError("the telegram channel needs access_token and secret_token")
        self.access_token = access_token
        self.secret_token = secret_token
        self.api_base = api_base
        self.dispatcher = dispatcher or TelegramDispatcher(CHANNEL)

    def get_output_channel(self) -> OutputChannel:
        """The Bot API sender."""
        return TelegramOutput(self.api_base, self.access_token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: health and update delivery."""
        webhook = Blueprint("aftercare_telegram_webhook", __name__)
        start_text = load_channel_texts().telegram_start_text
        bot_id = _bot_id(self.access_token)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = await read_body(request)
                items = read_webhook(lower_headers(request), body, self.secret_token, bot_id, start_text)
            except RequestError as error:
                return response.text(error.reason, status=error.status)
            await self.dispatcher.accept(items, on_new_message, self.get_output_channel())
            return response.text("ok")

        return webhook
