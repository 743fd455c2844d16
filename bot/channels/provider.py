"""The base of every provider connector (WhatsApp, Telegram, Twilio, and the next one).

A connector declares its credentials, reads one webhook delivery (authenticate, then
parse into :class:`Inbound` messages), and turns a reply into provider calls; the base
class does the rest: the Rasa ``InputChannel`` plumbing, bounded bodies, the webhook
route, the durable inbox and outbox (``bot.channels.dispatch``), sender id checks, long
texts split at the provider's limit, buttons as lines of text where the provider has
none, and the registry entry ``bot.channels.config`` builds the credentials file from.
"""

from __future__ import annotations

import abc
import logging
from datetime import timedelta
from typing import Any, Awaitable, Callable, ClassVar, Dict, List, Mapping, Optional, Tuple, Type

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channel_names import provider_channels
from bot.channels.dispatch import Assistant, Dispatcher, Inbound, Reply, StatusUpdate, reply
from bot.channels.http import Delivery, ProviderClient, RequestError, read_body
from bot.channels.named import NamedInputChannel
from bot.channels.text import split_for_provider, valid_sender_id

logger = logging.getLogger(__name__)

ProviderRequest = Dict[str, Any]


def button_lines(text: str, titles: List[str]) -> str:
    """The choices as lines the patient can type back, for providers without buttons."""
    return "\n".join([text, *(f"• {title}" for title in titles)])


def provider_variables(channel: str, *keys: str, **suffixes: str) -> Dict[str, str]:
    """Credential key -> ``AFTERCARE_<CHANNEL>_<KEY>``, or ``_<SUFFIX>`` where a key names it otherwise."""
    prefix = f"AFTERCARE_{channel.upper()}_"
    return {**{key: prefix + key.upper() for key in keys}, **{key: prefix + s for key, s in suffixes.items()}}


def api_base_variable(channel: str, default: str) -> Dict[str, Tuple[str, str]]:
    """The optional ``AFTERCARE_<CHANNEL>_API_BASE`` (tests point it at a local fake provider)."""
    return {"api_base": (f"AFTERCARE_{channel.upper()}_API_BASE", default)}


# Every connector class defined, by channel name.
_CONNECTORS: Dict[str, Type[ProviderInput]] = {}


def registered_connectors() -> Tuple[Type[ProviderInput], ...]:
    """The connector classes defined so far, in ``bot.channel_names`` order."""
    return tuple(_CONNECTORS[name] for name in provider_channels() if name in _CONNECTORS)


class ProviderInput(NamedInputChannel, metaclass=abc.ABCMeta):
    """A provider webhook at ``/webhooks/<CHANNEL>/webhook`` with durable, ordered, once-only handling.

    Defining a subclass that declares ``CHANNEL`` registers it: the channel registry, the
    credentials file and the Dispatcher all come from the registered classes. Its name must be
    listed in ``bot.channel_names``, which the layers that cannot load connectors read.
    """

    # credential key -> environment variable; the channel runs only when all are set
    REQUIRED: ClassVar[Mapping[str, str]] = {}
    # credential key -> (environment variable, default)
    OPTIONAL: ClassVar[Mapping[str, Tuple[str, str]]] = {}
    MAX_TEXT: ClassVar[int] = 4096

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "CHANNEL" in vars(cls):
            if cls.CHANNEL not in provider_channels():
                raise TypeError(f"list the {cls.CHANNEL!r} channel in bot.channel_names.PROVIDER_CHANNELS")
            known = _CONNECTORS.get(cls.CHANNEL)
            if known is not None and known.class_path() != cls.class_path():
                raise TypeError(
                    f"two connectors for the {cls.CHANNEL} channel: {known.class_path()}, {cls.class_path()}"
                )
            _CONNECTORS[cls.CHANNEL] = cls

    @classmethod
    def class_path(cls) -> str:
        """How the credentials file names this connector."""
        return f"{cls.__module__}.{cls.__qualname__}"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[str, Any]]) -> InputChannel:
        """Build the channel from its credentials block."""
        if not credentials:
            cls.raise_missing_credentials_exception()
        return cls({key: str(value) for key, value in (credentials or {}).items() if value is not None})

    def __init__(self, config: Mapping[str, str], dispatcher: Optional[Dispatcher] = None) -> None:
        missing = [key for key in self.REQUIRED if not str(config.get(key) or "").strip()]
        if missing:
            raise ValueError(f"the {self.CHANNEL} channel needs {', '.join(missing)}")
        defaults = {key: default for key, (_, default) in self.OPTIONAL.items()}
        self.config: Dict[str, str] = {**defaults, **{k: str(v) for k, v in config.items() if v}}
        self.client = ProviderClient(self.CHANNEL)
        self.dispatcher = dispatcher or Dispatcher(self.CHANNEL, sender=self)

    # -- what each provider declares ---------------------------------------------------------

    @abc.abstractmethod
    def read(self, request: Request, body: bytes) -> List[Inbound]:
        """Authenticate (``RequestError`` 403) and parse (400) one delivery."""

    @abc.abstractmethod
    def text_request(self, recipient: str, text: str) -> ProviderRequest:
        """The call that sends one piece of text (at most ``MAX_TEXT`` characters)."""

    def button_requests(self, recipient: str, text: str, titles: List[str]) -> List[ProviderRequest]:
        """The calls that send a text with choices; by default the choices as lines of text."""
        return self.text_requests(recipient, button_lines(text, titles))

    def image_requests(self, recipient: str, url: str) -> List[ProviderRequest]:
        """The calls that send an image by link; none by default."""
        return []

    def acknowledgements(self, item: Inbound) -> List[ProviderRequest]:
        """Calls owed as soon as a message is accepted; none by default."""
        return []

    @abc.abstractmethod
    async def deliver(self, request: Mapping[str, Any]) -> Delivery:
        """Make one queued call."""

    async def deliver_tracked(self, request: Mapping[str, Any]) -> Tuple[Delivery, Optional[str]]:
        """Make one queued call; also return the provider's id of the message when it tells us."""
        return await self.deliver(request), None

    def reply_window(self) -> Optional[timedelta]:
        """How long after the patient's last message free text may be sent (None: always)."""
        return None

    def template_requests(self, recipient: str, template: Mapping[str, Any]) -> List[ProviderRequest]:
        """The calls that send an approved template (opening a closed reply window); none by default."""
        return []

    def statuses(self, body: bytes) -> List[StatusUpdate]:
        """Delivery statuses in an authenticated webhook delivery; none by default."""
        return []

    def acknowledge(self) -> HTTPResponse:
        """What the provider gets back once its delivery is written down."""
        return response.text("ok")

    def add_routes(self, webhook: Blueprint) -> None:
        """Extra routes (e.g. Meta's subscription check)."""

    # -- shared behaviour --------------------------------------------------------------------

    def text_requests(self, recipient: str, text: str) -> List[ProviderRequest]:
        """Text split at the provider's limit, one call per piece."""
        return [self.text_request(recipient, piece) for piece in split_for_provider(text, self.MAX_TEXT)]

    def render(self, recipient: str, message: Reply) -> List[ProviderRequest]:
        """The provider calls that deliver one stored reply."""
        titles = [str(b["title"]).strip() for b in message.get("buttons") or [] if b.get("title")]
        text = str(message.get("text") or "")
        requests = self.button_requests(recipient, text, titles) if titles else []
        if text and not titles:
            requests = self.text_requests(recipient, text)
        if message.get("image"):
            requests += self.image_requests(recipient, str(message["image"]))
        return requests

    def inbound(self, request: Request, body: bytes) -> List[Inbound]:
        """Read a delivery and refuse (400) sender ids that cannot name a conversation."""
        items = self.read(request, body)
        if not all(valid_sender_id(item.sender_id) for item in items):
            raise RequestError(400, "invalid sender id")
        return items

    def get_output_channel(self) -> OutputChannel:
        """An output channel that sends at once (for Rasa's API, e.g. ``trigger_intent``)."""
        return DirectOutput(self)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        """Routes: health, any extra routes, and webhook delivery; start the inbox worker."""
        webhook = Blueprint(f"aftercare_{self.CHANNEL}_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        self.add_routes(webhook)

        @webhook.route("/webhook", methods=["POST"], stream=True)
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = await read_body(request)
                items = self.inbound(request, body)
                updates = self.statuses(body)
            except RequestError as error:
                return response.text(error.reason, status=error.status)
            await self.dispatcher.accept(items, Assistant(on_new_message, request.app))
            if updates:
                await self.dispatcher.apply_statuses(updates)
            return self.acknowledge()

        @webhook.listener("after_server_start")
        async def start_worker(app: Any, _: Any) -> None:
            # Replays whatever a crash or restart left pending, then retries sends.
            self.dispatcher.start(Assistant(on_new_message, app))

        return webhook


class DirectOutput(OutputChannel):
    """Send at once through a connector (used only outside the inbox, by Rasa's own API)."""

    def __init__(self, connector: ProviderInput) -> None:
        self.connector = connector

    @classmethod
    def name(cls) -> str:
        """A generic name; the connector knows its channel."""
        return "provider"

    def _recipient(self, recipient_id: str) -> str:
        prefix = f"{self.connector.CHANNEL}:"
        return recipient_id[len(prefix) :] if recipient_id.startswith(prefix) else recipient_id

    async def _send(self, recipient_id: str, message: Reply) -> None:
        for request in self.connector.render(self._recipient(recipient_id), message):
            await self.connector.deliver(request)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Send text."""
        await self._send(recipient_id, reply(text))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        """Send text with choices."""
        await self._send(recipient_id, reply(text, buttons=buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Send an image by link."""
        await self._send(recipient_id, reply(None, image=image))
