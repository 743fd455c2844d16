"""Accept provider deliveries once, acknowledge at once, and process them in the background.

A provider webhook must be answered within seconds or it is retried, but Rasa, the action
server and the provider's send API together can take longer. So the connector only
authenticates, parses and records each message id, schedules the work and answers 200;
this module does the rest, one message at a time per patient, in arrival order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, DefaultDict, Dict, Mapping, Optional, Sequence, Set

from rasa.core.channels.channel import OutputChannel, UserMessage
from sqlalchemy.orm import sessionmaker

from bot.channels.dedup import MessageLedger
from bot.channels.messages import ChannelTexts, clinic_template_values, load_channel_texts
from bot.channels.text import neutralise
from bot.settings import Settings
from bot.storage import make_engine, make_session_factory
from bot.storage.flags import raise_flag
from bot.storage.masking import mask_identity
from bot.storage.vocabulary import FlagKind

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
MEDIA_FLAG_RULE = "channel_media"


@dataclass(frozen=True)
class Inbound:
    """One patient message as a provider delivered it, already authenticated and parsed."""

    message_id: str
    sender_id: str
    text: Optional[str] = None
    media: Optional[str] = None
    metadata: Mapping[str, Any] = field(default_factory=dict)


class SenderLocks:
    """One asyncio lock per patient, dropped again when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: Dict[str, asyncio.Lock] = {}
        self._users: DefaultDict[str, int] = defaultdict(int)

    async def run(self, key: str, work: Callable[[], Awaitable[None]]) -> None:
        """Run ``work`` while holding ``key``'s lock."""
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._users[key] += 1
        try:
            async with lock:
                await work()
        finally:
            self._users[key] -= 1
            if self._users[key] == 0:
                del self._users[key]
                self._locks.pop(key, None)


class MediaFlagStore:
    """Flag a conversation for staff because the patient sent something we cannot read."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self._factory: Optional[sessionmaker] = None

    def __call__(self, *, channel: str, sender_id: str, reason: str, media: str, message: str) -> None:
        """Store (or keep) the conversation's hand-off flag in its own transaction."""
        if self._factory is None:
            self._factory = make_session_factory(make_engine(self.database_url))
        with self._factory.begin() as session:
            raise_flag(
                session=session,
                conversation_id=sender_id,
                channel=channel,
                level=FlagKind.HANDOFF.value,  # hand-off flags carry their kind as level
                kind=FlagKind.HANDOFF.value,
                reason=reason,
                rule=MEDIA_FLAG_RULE,
                matched_text=media,
                message=message,
                channel_user_id=sender_id,
            )


class Dispatcher:
    """Deduplicate, schedule and process the deliveries of one channel."""

    def __init__(
        self,
        channel: str,
        database_url: Optional[str] = None,
        texts: Optional[ChannelTexts] = None,
        ledger: Optional[MessageLedger] = None,
        flag_media: Optional[Callable[..., None]] = None,
    ) -> None:
        self.channel = channel
        self._database_url = database_url
        self._texts = texts
        self._ledger = ledger
        self._flag_media = flag_media
        self._locks = SenderLocks()
        self._tasks: Set[asyncio.Task[None]] = set()

    @property
    def database_url(self) -> str:
        """Our database (read from the environment on first use, never at import time)."""
        if self._database_url is None:
            self._database_url = Settings.from_env().database_url
        return self._database_url

    @property
    def texts(self) -> ChannelTexts:
        """The connectors' own sentences."""
        if self._texts is None:
            self._texts = load_channel_texts()
        return self._texts

    def ledger(self) -> MessageLedger:
        """The message-id ledger, opened on first use."""
        if self._ledger is None:
            self._ledger = MessageLedger.from_url(self.database_url)
        return self._ledger

    async def is_first_delivery(self, message_id: str) -> bool:
        """Record ``message_id``; False if it was seen before.

        If the database cannot be reached we process the message anyway: answering a
        retried message twice is better than losing a patient's report of a red flag.
        """
        try:
            return await asyncio.to_thread(self.ledger().first_delivery, self.channel, message_id)
        except Exception:
            logger.exception("%s: could not record message id; processing it anyway", self.channel)
            return True

    async def forget(self, message_id: str) -> None:
        """Let a retry of ``message_id`` through again (its processing failed)."""
        try:
            await asyncio.to_thread(self.ledger().forget, self.channel, message_id)
        except Exception:
            logger.exception("%s: could not forget message id", self.channel)

    async def accept(
        self, items: Sequence[Inbound], on_new_message: OnNewMessage, output: OutputChannel
    ) -> int:
        """Schedule every message not seen before; return how many were scheduled."""
        scheduled = 0
        for item in items:
            if not await self.is_first_delivery(item.message_id):
                logger.info("%s: ignoring redelivered message %s", self.channel, item.message_id)
                continue
            task = asyncio.create_task(self._process_in_order(item, on_new_message, output))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            scheduled += 1
        return scheduled

    async def drain(self) -> None:
        """Wait for every scheduled message to be processed (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def _process_in_order(
        self, item: Inbound, on_new_message: OnNewMessage, output: OutputChannel
    ) -> None:
        async def work() -> None:
            try:
                await self.process(item, on_new_message, output)
            except Exception:
                logger.exception(
                    "%s: failed to process message from %s",
                    self.channel,
                    mask_identity(self.channel, item.sender_id),
                )

        await self._locks.run(item.sender_id, work)

    async def before_processing(self, item: Inbound, output: OutputChannel) -> None:
        """Hook for channel chores before the reply (e.g. Telegram's callback answer)."""

    async def process(self, item: Inbound, on_new_message: OnNewMessage, output: OutputChannel) -> None:
        """Hand the text to Rasa, then answer and flag any media."""
        await self.before_processing(item, output)
        text = neutralise(item.text)
        if text:
            await on_new_message(
                UserMessage(
                    text,
                    output,
                    item.sender_id,
                    input_channel=self.channel,
                    message_id=item.message_id,
                    metadata=dict(item.metadata) or None,
                )
            )
        if item.media:
            await self._answer_media(item, output)

    async def _answer_media(self, item: Inbound, output: OutputChannel) -> None:
        texts = self.texts
        media = texts.media_name(item.media or "other")
        values = texts.clinic_values(clinic_template_values())
        await output.send_text_message(item.sender_id, texts.render(texts.media_reply, media=media, **values))
        if self._flag_media is None:
            self._flag_media = MediaFlagStore(self.database_url)
        caption = neutralise(item.text)
        try:
            await asyncio.to_thread(
                self._flag_media,
                channel=self.channel,
                sender_id=item.sender_id,
                reason=texts.render(texts.media_flag_reason, media=media, **values),
                media=item.media or "other",
                message=caption or texts.render(texts.media_flag_message, media=media, **values),
            )
        except Exception:
            logger.exception(
                "%s: could not flag media from %s for staff",
                self.channel,
                mask_identity(self.channel, item.sender_id),
            )
