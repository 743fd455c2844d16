"""The REST webhook for tools and tests, protected by the Rasa API token.

It replaces Rasa's stock ``rest`` channel on the same route, ``/webhooks/rest/webhook``:
anyone who could reach the stock channel could write into any conversation as any sender.
This one requires ``RASA_AUTH_TOKEN`` (``?token=`` or ``Authorization: Bearer``, as Rasa's
HTTP API takes it), keeps the sender id exactly as given (so ``/conversations/<sender>/...``
keeps working for tools) but refuses ids that cannot safely name a conversation, bounds
the body and the text, reads commands (``/intent{...}``) as plain words and always records
``rest`` as the input channel.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any, Awaitable, Callable, Dict, Optional

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.auth_token import TOKEN_VARIABLE, read_dotenv
from bot.channels.http import RequestError, bearer_token, lower_headers, parse_json_object, read_body
from bot.channels.messages import load_channel_texts
from bot.channels.named import NamedInputChannel
from bot.channels.text import bound_for_nlu, neutralise, valid_sender_id
from bot.settings import Settings

logger = logging.getLogger(__name__)

CHANNEL = "rest"
REST_ENABLED = "AFTERCARE_REST_ENABLED"


def configured_token(settings: Settings) -> Optional[str]:
    """The Rasa API token: from the environment, else from ``.env`` (where ``aftercare run`` keeps it)."""
    if settings.rasa_auth_token:
        return settings.rasa_auth_token
    return read_dotenv(settings.project_root / ".env").get(TOKEN_VARIABLE) or None


def rest_enabled(settings: Settings) -> bool:
    """The REST webhook is off in production unless explicitly turned on."""
    return not settings.is_production or settings.channels.rest_enabled


def token_matches(given: Optional[str], expected: Optional[str]) -> bool:
    """Constant-time comparison; no configured token means nobody gets in."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class TokenRestInput(NamedInputChannel):
    """``POST /webhooks/rest/webhook`` with ``{"sender", "message"}``, token required."""

    CHANNEL = CHANNEL

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Build the channel; the token comes from the environment unless the block names one."""
        token = (credentials or {}).get("token") or configured_token(cls.environment_settings())
        if not token:
            logger.warning("rest: no RASA_AUTH_TOKEN configured; the REST webhook refuses every request")
        return cls(str(token) if token else None)

    def __init__(self, token: Optional[str]) -> None:
        self.token = token

    def _authorised(self, request: Request) -> bool:
        given = bearer_token(lower_headers(request)) or request.args.get("token")
        return token_matches(given, self.token)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: health, and the webhook."""
        webhook = Blueprint("aftercare_rest_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            if not self._authorised(request):
                return response.json({"error": "unauthorised"}, status=401)
            try:
                data = parse_json_object(await read_body(request))
                sender = data.get("sender")
                if not valid_sender_id(sender):
                    raise RequestError(400, "invalid sender id")
                message = data.get("message")
                if message is not None and not isinstance(message, str):
                    raise RequestError(400, "message must be text")
            except RequestError as error:
                return response.json({"error": error.reason}, status=error.status)
            text = neutralise(message)
            if not text:
                return response.json([])
            bounded = bound_for_nlu(text)
            metadata = data.get("metadata") if isinstance(data.get("metadata"), dict) else None
            collector = CollectingOutputChannel()
            await on_new_message(
                UserMessage(bounded.text, collector, str(sender), input_channel=CHANNEL, metadata=metadata)
            )
            messages = list(collector.messages)
            if bounded.truncated:
                messages.append({"recipient_id": sender, "text": load_channel_texts().too_long_reply})
            return response.json(messages)

        return webhook
