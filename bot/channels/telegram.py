"""Telegram connector: Bot API webhooks checked by secret token, replies by plain HTTP calls.

Replaces Rasa's ``TelegramInput``, which asks Telegram who the bot is (``getMe``) on every
message and sends through a client library that cannot be pointed at a test server.
Register the webhook with ``setWebhook`` and the same ``secret_token`` (see docs/channels.md).
"""

from __future__ import annotations

import logging
import re
from functools import cached_property
from typing import Any, Dict, List, Mapping, Optional

from sanic.request import Request

from bot.channels.dispatch import Inbound
from bot.channels.http import Delivery, RequestError, lower_headers, parse_json_object
from bot.channels.messages import load_channel_texts
from bot.channels.provider import ProviderInput, ProviderRequest, api_base_variable, provider_variables
from bot.channels.security import secret_matches
from bot.media.fetch import MediaFetchError, download, fetch_json
from bot.media.settings import media_settings

logger = logging.getLogger(__name__)

CHANNEL = "telegram"
DEFAULT_API_BASE = "https://api.telegram.org"
SECRET_HEADER = "x-telegram-bot-api-secret-token"
MAX_CALLBACK_BYTES = 64
CALLBACK_KEY = "callback_query_id"
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
# A patient who edits a message ("actually I have a fever") is read again, as a new message.
MESSAGE_FIELDS = ("message", "edited_message")
_START = re.compile(r"^/start(@\w+)?(\s|$)")


def _bot_id(token: str) -> str:
    return token.split(":", 1)[0]


def _private_chat(message: Mapping[str, Any]) -> Optional[str]:
    chat = message.get("chat")
    if not isinstance(chat, dict) or chat.get("type") != "private" or chat.get("id") is None:
        return None
    return str(chat["id"])


def _callback(callback: Mapping[str, Any], message_id: str) -> List[Inbound]:
    """A button tap: its data is the patient's words; the callback is always answered.

    ``message`` is missing when the button's message is too old or was sent inline; the
    tap is then only answered (its spinner stops), since no private chat is known.
    """
    metadata = {CALLBACK_KEY: str(callback.get("id", ""))}
    origin = callback.get("message")
    chat_id = _private_chat(origin) if isinstance(origin, dict) else None
    data = callback.get("data")
    if chat_id is not None and isinstance(data, str):
        return [Inbound(message_id, chat_id, text=data, metadata=metadata)]
    user = callback.get("from")
    user_id = user.get("id") if isinstance(user, dict) else None
    if not metadata[CALLBACK_KEY] or user_id is None:
        return []
    return [Inbound(message_id, str(user_id), metadata=metadata)]


def _photo_file(message: Mapping[str, Any]) -> Optional[str]:
    """The file id of a photo's largest size (Telegram lists them smallest first)."""
    sizes = message.get("photo")
    if not isinstance(sizes, list) or not sizes or not isinstance(sizes[-1], dict):
        return None
    file_id = sizes[-1].get("file_id")
    return file_id if isinstance(file_id, str) and file_id else None


def parse_update(update: Mapping[str, Any], bot_id: str, start_text: str) -> List[Inbound]:
    """Return the patient message in one update; other updates (groups, joins, polls) yield nothing.

    Only private chats are answered: in a group, other members would read the patient's
    health questions and the assistant's answers.
    """
    update_id = update.get("update_id")
    if not isinstance(update_id, int):
        raise RequestError(400, "update without update_id")
    message_id = f"{bot_id}:{update_id}"
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        return _callback(callback, message_id)
    message = next((update[f] for f in MESSAGE_FIELDS if isinstance(update.get(f), dict)), None)
    chat_id = _private_chat(message) if message is not None else None
    if message is None or chat_id is None:
        return []
    text = message.get("text")
    if isinstance(text, str):
        return [Inbound(message_id, chat_id, text=start_text if _START.match(text.strip()) else text)]
    for field_name, media in MEDIA_FIELDS.items():
        if field_name in message:
            caption = message.get("caption") if isinstance(message.get("caption"), str) else None
            return [Inbound(message_id, chat_id, text=caption, media=media, media_ref=_photo_file(message))]
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


class TelegramInput(ProviderInput):
    """Receive Telegram Bot API webhooks at ``/webhooks/telegram/webhook``."""

    CHANNEL = CHANNEL
    REQUIRED = provider_variables(CHANNEL, access_token="TOKEN", secret_token="SECRET_TOKEN")
    OPTIONAL = api_base_variable(CHANNEL, DEFAULT_API_BASE)
    MAX_TEXT = 4096

    @cached_property
    def start_text(self) -> str:
        """What ``/start`` stands for (a greeting)."""
        return load_channel_texts().telegram_start_text

    def read(self, request: Request, body: bytes) -> List[Inbound]:
        """Check the secret token and read the update."""
        bot_id = _bot_id(self.config["access_token"])
        return read_webhook(
            lower_headers(request), body, self.config["secret_token"], bot_id, self.start_text
        )

    def text_request(self, recipient: str, text: str) -> ProviderRequest:
        """``sendMessage``."""
        return {"recipient": recipient, "method": "sendMessage", "body": {"chat_id": recipient, "text": text}}

    def button_requests(self, recipient: str, text: str, titles: List[str]) -> List[ProviderRequest]:
        """An inline keyboard whose buttons answer with their own title."""
        keyboard = [[{"text": t, "callback_data": callback_data(t)}] for t in titles]
        body = {
            "chat_id": recipient,
            "text": text[: self.MAX_TEXT],
            "reply_markup": {"inline_keyboard": keyboard},
        }
        return [{"recipient": recipient, "method": "sendMessage", "body": body}]

    def image_requests(self, recipient: str, url: str) -> List[ProviderRequest]:
        """``sendPhoto`` by link."""
        return [{"recipient": recipient, "method": "sendPhoto", "body": {"chat_id": recipient, "photo": url}}]

    def acknowledgements(self, item: Inbound) -> List[ProviderRequest]:
        """Answer a button tap at once so its spinner stops in the patient's app."""
        callback_id = item.metadata.get(CALLBACK_KEY)
        if not callback_id:
            return []
        body: Dict[str, Any] = {CALLBACK_KEY: str(callback_id)}
        return [{"recipient": f"callback:{callback_id}", "method": "answerCallbackQuery", "body": body}]

    async def fetch_media(self, file_id: str) -> bytes:
        """A photo: ``getFile`` names its path, downloaded from the Bot API's file URL."""
        settings = media_settings()
        api = self.config["api_base"].rstrip("/")
        token = self.config["access_token"]
        info = await fetch_json(
            f"{api}/bot{token}/getFile", params={"file_id": file_id}, timeout=settings.fetch_timeout
        )
        result = info.get("result") if info.get("ok") else None
        path = result.get("file_path") if isinstance(result, dict) else None
        if not isinstance(path, str) or not path or ".." in path:
            raise MediaFetchError("no file path", permanent=True)
        return await download(
            f"{api}/file/bot{token}/{path}", max_bytes=settings.max_bytes, timeout=settings.fetch_timeout
        )

    async def deliver(self, request: Mapping[str, Any]) -> Delivery:
        """Call the Bot API method."""
        base = f"{self.config['api_base'].rstrip('/')}/bot{self.config['access_token']}"
        return await self.client.post(f"{base}/{request['method']}", json_body=request["body"])
