"""Accept channel messages durably, process each once, in order, and deliver the replies.

A provider must be answered within seconds or it retries, and a browser may give up on a
slow request. So a connector only authenticates and parses a delivery; this module writes
each message to the inbox (``bot.storage.inbox``) before the channel says "got it", then
processes it in the background, one message at a time per conversation, in arrival order:

1. the words (neutralised, bounded) go to Rasa with a collecting output channel;
2. a photo is downloaded, cleaned and stored for staff, raises the conversation's flag and
   is acknowledged (``bot.media.intake``); other media gets the "please describe it in
   words" reply and a hand-off flag;
3. the replies are stored on the entry, which is marked done, and the provider calls that
   deliver them are queued in the outbox, all in one transaction;
4. the outbox worker makes those calls with retries.

A message that is only STOP or START (``bot.checkins.optout``) skips step 1: the opt-out or
opt-in is recorded in the transaction that marks the entry done with its confirmation. A longer
message ("stop, my face is swelling") still gets its turn, so a warning sign in it is escalated.

A crash between any two steps loses nothing: pending entries are replayed (at start-up and
every few seconds), and an entry whose turn Rasa already stored is completed from the
stored turn instead of being processed again. A redelivered message is answered from the
entry (the widget gets the stored replies; a provider gets its 200 and nothing else).

On several replicas (one database), a conversation is processed by whichever replica holds
its lease (``bot.storage.leases``, ``inbox:<channel>:<conversation>``): the lease is taken
before the pending entries are read and renewed while they are processed, so a replica's replay
worker never runs a turn another replica is running. The provider sends of a channel are
made by the one replica holding ``send:<channel>``, which keeps each patient's replies in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import (
    Any,
    Awaitable,
    Callable,
    DefaultDict,
    Dict,
    List,
    Mapping,
    Optional,
    Protocol,
    Sequence,
    Set,
    Tuple,
    TypeVar,
)

from rasa.core.channels.channel import OutputChannel, UserMessage
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.http import Delivery
from bot.channels.messages import ChannelTexts, clinic_template_values, load_channel_texts
from bot.channels.text import bound_for_nlu, conversation_id, neutralise
from bot.checkins.optout import Command, answer_keyword, command_in, confirmations
from bot.media.intake import PhotoIntake, PhotoMessage
from bot.settings import Settings
from bot.storage import (
    LazyDatabase,
    inbox,
    leases,
    make_session_factory,
    outbound,
    takeover,
    takeover_flow,
)
from bot.storage.db import READ_ONLY, utcnow
from bot.storage.flags import raise_flag
from bot.storage.masking import mask_identity
from bot.storage.vocabulary import FlagKind

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]
Reply = Dict[str, Any]
MEDIA_FLAG_RULE = "channel_media"
REPLAY_INTERVAL_SECONDS = 5.0
# Staff replies and notices are looked for this often (the widget shows them within seconds).
OUTBOUND_INTERVAL_SECONDS = 1.0
# A replica that dies holding a conversation's lease delays that conversation this long at most.
# A live holder renews it every LEASE_RENEW_SECONDS while it works, however long a turn takes
# (waiting for Rasa's conversation lock included), so a slow turn never loses it.
LEASE_TTL = timedelta(seconds=30)
LEASE_RENEW_SECONDS = 10.0
# How long the widget's request waits while another replica processes the same conversation.
ANSWER_WAIT_SECONDS = 60.0
LEASE_POLL_SECONDS = 0.2
T = TypeVar("T")


@dataclass(frozen=True)
class Inbound:
    """One patient message as a provider delivered it, already authenticated and parsed."""

    message_id: str
    sender_id: str
    text: Optional[str] = None
    media: Optional[str] = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    # Where the provider keeps the media (a WhatsApp media id, a Telegram file id, a Twilio URL).
    media_ref: Optional[str] = None

    def to_payload(self) -> Dict[str, Any]:
        """The JSON-able form kept in the inbox."""
        data = asdict(self)
        data["metadata"] = dict(self.metadata)
        return data

    @classmethod
    def from_payload(cls, data: Mapping[str, Any]) -> Inbound:
        """Rebuild a message from its inbox payload."""
        return cls(
            message_id=str(data["message_id"]),
            sender_id=str(data["sender_id"]),
            text=data.get("text"),
            media=data.get("media"),
            metadata=dict(data.get("metadata") or {}),
            media_ref=data.get("media_ref"),
        )


def reply(
    text: Optional[str], utter_action: Optional[str] = None, buttons: Any = None, image: Any = None
) -> Reply:
    """One assistant message as stored with its inbox entry."""
    titles = [{"title": str(b["title"])} for b in buttons or [] if isinstance(b, Mapping) and b.get("title")]
    return {"text": text or "", "utter_action": utter_action, "buttons": titles, "image": image}


class ReplyCollector(OutputChannel):
    """Collect a turn's replies (text, buttons, images) instead of sending them."""

    def __init__(self) -> None:
        self.replies: List[Reply] = []

    @classmethod
    def name(cls) -> str:
        """Rasa wants a name; the collector is never a real channel."""
        return "collector"

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        """Keep a text reply with the response it came from (its urgency)."""
        self.replies.append(reply(text, kwargs.get("utter_action")))

    async def send_text_with_buttons(
        self, recipient_id: str, text: str, buttons: List[Dict[str, Any]], **kwargs: Any
    ) -> None:
        """Keep the text and the buttons' titles (a tap sends the title back as text)."""
        self.replies.append(reply(text, kwargs.get("utter_action"), buttons))

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        """Keep an image link."""
        self.replies.append(reply(None, kwargs.get("utter_action"), image=image))

    async def send_custom_json(self, recipient_id: str, json_message: Dict[str, Any], **kwargs: Any) -> None:
        """Custom payloads are not shown to patients."""


def replies_from_events(events: Sequence[Mapping[str, Any]], message_id: str) -> Optional[List[Reply]]:
    """The replies of the turn started by user message ``message_id``, or None if it is not stored.

    A turn counts as stored once the assistant went back to listening after it.
    """
    start = next(
        (i for i, e in enumerate(events) if e.get("event") == "user" and e.get("message_id") == message_id),
        None,
    )
    if start is None:
        return None
    found: List[Reply] = []
    for event in events[start + 1 :]:
        kind = event.get("event")
        if kind == "user":
            return found
        if kind == "bot":
            data = event.get("data") or {}
            metadata = event.get("metadata") or {}
            found.append(
                reply(event.get("text"), metadata.get("utter_action"), data.get("buttons"), data.get("image"))
            )
        if kind == "action" and event.get("name") == "action_listen":
            return found
    return None


@dataclass
class Assistant:
    """How the dispatcher reaches Rasa: the message handler, and the agent for stored turns."""

    handle: OnNewMessage
    app: Any = None

    async def stored_turn(self, conversation: str, message_id: str) -> Optional[List[Reply]]:
        """Replies of an already stored turn for ``message_id`` (a crash hit before we marked it done)."""
        agent = getattr(getattr(self.app, "ctx", None), "agent", None)
        store = getattr(agent, "tracker_store", None)
        if store is None:
            return None
        tracker = await store.retrieve(conversation)
        if tracker is None:
            return None
        return replies_from_events([event.as_dict() for event in tracker.events], message_id)


@dataclass(frozen=True)
class StatusUpdate:
    """A provider's status callback for one message it was given: sent, delivered or failed."""

    provider_message_id: str
    status: str
    error: Optional[str] = None


class ReplySender(Protocol):
    """What a provider connector does for the dispatcher (see ``bot.channels.provider``)."""

    def render(self, recipient: str, message: Reply) -> List[Dict[str, Any]]:
        """The provider calls that deliver one reply."""

    def acknowledgements(self, item: Inbound) -> List[Dict[str, Any]]:
        """Calls owed as soon as a message is accepted (e.g. stopping a button's spinner)."""

    async def deliver(self, request: Mapping[str, Any]) -> Delivery:
        """Make one queued call."""


class SenderLocks:
    """One asyncio lock per conversation, dropped again when nobody holds or waits for it."""

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
        self.db = LazyDatabase(lambda: database_url)

    def __call__(
        self, *, channel: str, conversation: str, sender_id: str, reason: str, media: str, message: str
    ) -> None:
        """Store (or keep) the conversation's hand-off flag in its own transaction."""

        def write(session: Session) -> None:
            raise_flag(
                session=session,
                conversation_id=conversation,
                channel=channel,
                level=FlagKind.HANDOFF.value,  # hand-off flags carry their kind as level
                kind=FlagKind.HANDOFF.value,
                reason=reason,
                rule=MEDIA_FLAG_RULE,
                matched_text=media,
                message=message,
                channel_user_id=sender_id,
            )

        self.db.write(write)


@dataclass(frozen=True)
class Answer:
    """What the widget returns for one message: its replies, and whether it was a redelivery."""

    replies: List[Reply]
    duplicate: bool = False


class ProcessingError(RuntimeError):
    """The message could not be processed now; it stays pending and is retried."""


class Dispatcher:
    """Record, order, process and answer the messages of one channel."""

    def __init__(
        self,
        channel: str,
        database_url: Optional[str] = None,
        texts: Optional[ChannelTexts] = None,
        flag_media: Optional[Callable[..., None]] = None,
        sender: Optional[ReplySender] = None,
        replay_interval: float = REPLAY_INTERVAL_SECONDS,
        settings: Optional[Settings] = None,
        outbound_interval: float = OUTBOUND_INTERVAL_SECONDS,
        photos: Optional[PhotoIntake] = None,
    ) -> None:
        self.channel = channel
        self.sender = sender
        self.replay_interval = replay_interval
        self.outbound_interval = outbound_interval
        self._settings = settings
        self._database_url = database_url
        self._texts = texts
        self._flag_media = flag_media
        self._photos = photos
        self.db = LazyDatabase(lambda: self.database_url)
        self._locks = SenderLocks()
        self._send_lock: Optional[asyncio.Lock] = None
        self._tasks: Set[asyncio.Task[Any]] = set()
        self._sent_directly: Set[int] = set()
        # Entries this process wrote down itself: Rasa cannot have stored their turn yet, so
        # the tracker need not be read to find out (only replayed entries are looked up).
        self._fresh: Set[int] = set()
        # Conversations another replica held since we last drained them: it may have run
        # (part of) a turn for one of our fresh entries, so their stored turns are checked.
        self._contended: Set[str] = set()
        self._holder = leases.holder_id(f"dispatch-{channel}")
        self._worker: Optional[asyncio.Task[None]] = None
        self._outbound_worker: Optional[asyncio.Task[None]] = None
        self._read_factory: Optional[sessionmaker] = None

    @property
    def settings(self) -> Settings:
        """The settings (read from the environment on first use, never at import time)."""
        if self._settings is None:
            self._settings = Settings.from_env()
        return self._settings

    @property
    def database_url(self) -> str:
        """Our database (read from the environment on first use, never at import time)."""
        if self._database_url is None:
            self._database_url = self.settings.database_url
        return self._database_url

    @property
    def texts(self) -> ChannelTexts:
        """The connectors' own sentences."""
        if self._texts is None:
            self._texts = load_channel_texts()
        return self._texts

    @property
    def photos(self) -> PhotoIntake:
        """The photo intake (media folder and size limit from the environment on first use)."""
        if self._photos is None:
            settings = self.settings
            self._photos = PhotoIntake(self.database_url, settings.media_dir, settings.media.max_bytes)
        return self._photos

    def factory(self) -> sessionmaker:
        """The session factory on our database, opened on first use."""
        return self.db.factory()

    def write(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` in one transaction on our database, retrying a busy database."""
        return self.db.write(work)

    def conversation(self, sender_id: str) -> str:
        """The conversation id of a sender on this channel."""
        return conversation_id(self.channel, sender_id)

    # -- accepting ---------------------------------------------------------------------

    def _record(self, items: Sequence[Inbound]) -> List[Tuple[inbox.InboxEntry, bool]]:
        return self.db.write(lambda session: self._record_in(session, items))

    def _record_in(self, session: Session, items: Sequence[Inbound]) -> List[Tuple[inbox.InboxEntry, bool]]:
        recorded = []
        for item in items:
            entry, new = inbox.record_delivery(
                session=session,
                channel=self.channel,
                message_id=item.message_id,
                conversation_id=self.conversation(item.sender_id),
                payload=item.to_payload(),
            )
            if new and self.sender is not None:
                inbox.enqueue_requests(
                    session=session,
                    channel=self.channel,
                    key=f"{self.channel}:{item.message_id}:ack",
                    requests=self.sender.acknowledgements(item),
                )
            recorded.append((entry, new))
        return recorded

    async def accept(self, items: Sequence[Inbound], assistant: Assistant) -> int:
        """Write the messages down, schedule the new ones; return how many were new.

        If the inbox cannot be written (database down), the messages are processed at
        once from memory: answering is worth more than the record, and a red flag must
        still be escalated.
        """
        if not items:
            return 0
        try:
            recorded = await asyncio.to_thread(self._record, items)
        except Exception:
            logger.exception(
                "%s: could not write %s message(s) to the inbox; processing them directly",
                self.channel,
                len(items),
            )
            for item in items:
                self._spawn(self._process_unrecorded(item, assistant))
            return len(items)
        self._fresh.update(entry.id for entry, new in recorded if new)
        # A redelivered message that is still pending (a crash came between the ack and the
        # answer) is not dropped: its conversation is drained again now.
        conversations = dict.fromkeys(
            entry.conversation_id for entry, new in recorded if new or entry.status == inbox.INBOX_PENDING
        )
        for conversation in conversations:
            self._spawn(self._drain(conversation, assistant))
        if self.sender is not None:
            self._spawn(self.send_due())
        duplicates = len(recorded) - sum(1 for _, new in recorded if new)
        if duplicates:
            logger.info("%s: %s redelivered message(s) already in the inbox", self.channel, duplicates)
        return sum(1 for _, new in recorded if new)

    async def answer(self, item: Inbound, assistant: Assistant) -> Answer:
        """Process one message and return its replies (the widget's synchronous path).

        The processing runs shielded: when the browser gives up (the request task is
        cancelled), the turn still completes and its replies are stored, so the retry of
        the same message id gets them.
        """
        try:
            [(entry, new)] = await asyncio.to_thread(self._record, [item])
            if new:
                self._fresh.add(entry.id)
        except Exception:
            logger.exception(
                "%s: could not write a message to the inbox; processing it directly", self.channel
            )
            return Answer(await asyncio.shield(self._spawn(self._run_turn(item, assistant))))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ANSWER_WAIT_SECONDS
        runs = 0
        while True:
            if entry.status == inbox.INBOX_DONE:
                return Answer([dict(r) for r in entry.replies], duplicate=not new)
            if entry.status == inbox.INBOX_FAILED:
                raise ProcessingError(entry.last_error or "failed")
            if runs >= 3 or loop.time() > deadline:
                raise ProcessingError("still pending")
            if await asyncio.shield(self._spawn(self._drain(entry.conversation_id, assistant))):
                runs += 1
            else:  # another replica is processing this conversation: wait for it
                await asyncio.sleep(LEASE_POLL_SECONDS)
            entry = await asyncio.to_thread(self._reload, entry.id)

    def _reload(self, entry_id: int) -> inbox.InboxEntry:
        with self.factory().begin() as session:
            entry = session.get(inbox.InboxEntry, entry_id)
            assert entry is not None
            return entry

    def _spawn(self, work: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait until every scheduled message and send is finished (tests and shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # -- processing --------------------------------------------------------------------

    def _pending(self, conversation: str) -> List[inbox.InboxEntry]:
        with self.factory().begin() as session:
            return inbox.pending_entries(session=session, channel=self.channel, conversation_id=conversation)

    def _take(self, name: str) -> bool:
        return self.db.write(
            lambda session: leases.acquire(session=session, name=name, holder=self._holder, ttl=LEASE_TTL)
        )

    def _give_back(self, name: str) -> None:
        try:
            self.db.write(lambda session: leases.release(session=session, name=name, holder=self._holder))
        except Exception as error:  # noqa: BLE001 - it expires by itself
            logger.warning("%s: could not release a lease (%s)", self.channel, type(error).__name__)

    async def _keep(self, name: str, lost: asyncio.Event) -> None:
        """Renew a held lease until cancelled; set ``lost`` if another holder took it meanwhile."""
        while True:
            await asyncio.sleep(LEASE_RENEW_SECONDS)
            try:
                if not await asyncio.to_thread(self._take, name):
                    lost.set()
                    return
            except Exception as error:  # noqa: BLE001 - try again at the next renewal
                logger.warning("%s: could not renew a lease (%s)", self.channel, type(error).__name__)

    async def _drain(self, conversation: str, assistant: Assistant) -> bool:
        """Process a conversation's pending entries in order; stop at one that must be retried.

        Returns False, doing nothing, while another replica holds the conversation's lease.
        """
        held = True

        async def work() -> None:
            nonlocal held
            name = f"inbox:{self.channel}:{conversation}"
            if not await asyncio.to_thread(self._take, name):
                held = False
                self._contended.add(conversation)
                return
            lost = asyncio.Event()
            keeper = asyncio.ensure_future(self._keep(name, lost))
            try:
                for entry in await asyncio.to_thread(self._pending, conversation):
                    if lost.is_set():
                        return  # we stalled past the lease's time: its new holder goes on
                    if not await self._process_entry(entry, assistant):
                        return
                self._contended.discard(conversation)
            finally:
                keeper.cancel()
                await asyncio.to_thread(self._give_back, name)

        await self._locks.run(conversation, work)
        return held

    async def _process_entry(self, entry: inbox.InboxEntry, assistant: Assistant) -> bool:
        """Process one entry to done; False when it failed and later ones must wait."""
        item = Inbound.from_payload(entry.data)
        try:
            replies = None
            if entry.id not in self._fresh or entry.conversation_id in self._contended:
                replies = await assistant.stored_turn(entry.conversation_id, item.message_id)
            command = None if replies is not None or item.media else command_in(neutralise(item.text))
            if command is not None:
                return await self._answer_keyword(entry, item, command)
            # The last attempt answers a photo it still cannot download like other media.
            final = entry.attempts + 1 >= inbox.MAX_PROCESS_ATTEMPTS
            if replies is None:
                replies = await self._run_turn(item, assistant, final=final)
            elif item.media:
                replies = replies + await self._answer_media(item, final=final)
        except Exception as error:
            logger.exception(
                "%s: failed to process a message from %s",
                self.channel,
                mask_identity(self.channel, item.sender_id),
            )
            return await self._count_failure(entry, type(error).__name__)
        requests = self._render(item.sender_id, replies) if entry.id not in self._sent_directly else []
        try:
            await asyncio.to_thread(self._complete, entry.id, replies, requests)
        except Exception:
            logger.exception("%s: could not store the replies; sending them directly", self.channel)
            self._sent_directly.add(entry.id)
            await self._send_now(requests)
            return False
        self._sent_directly.discard(entry.id)
        self._fresh.discard(entry.id)
        if requests:
            self._spawn(self.send_due())
        return True

    async def _answer_keyword(self, entry: inbox.InboxEntry, item: Inbound, command: Command) -> bool:
        """A bare STOP / START: record it and confirm it in one transaction, without a turn."""
        replies = [reply(*confirmations()[command])]
        requests = self._render(item.sender_id, replies)

        def work(session: Session) -> bool:
            return answer_keyword(
                session=session,
                entry_id=entry.id,
                command=command,
                replies=replies,
                requests=requests,
                now=utcnow(),
            )

        await asyncio.to_thread(self.db.write, work)
        self._fresh.discard(entry.id)
        if requests:
            self._spawn(self.send_due())
        return True

    async def _count_failure(self, entry: inbox.InboxEntry, error: str) -> bool:
        self._fresh.discard(entry.id)  # the failed attempt may have stored part of the turn
        try:
            stored = await asyncio.to_thread(self._fail, entry.id, error)
        except Exception:
            logger.exception("%s: could not record a failed attempt", self.channel)
            return False
        if stored is not None and stored.status == inbox.INBOX_FAILED:
            logger.error(
                "%s: giving up on inbox entry %s after %s attempts", self.channel, entry.id, stored.attempts
            )
            return True
        return False

    def _complete(self, entry_id: int, replies: List[Reply], requests: List[Dict[str, Any]]) -> None:
        self.db.write(
            lambda session: inbox.complete_entry(
                session=session, entry_id=entry_id, replies=replies, requests=requests
            )
        )

    def _fail(self, entry_id: int, error: str) -> Optional[inbox.InboxEntry]:
        return self.db.write(
            lambda session: inbox.record_failure(session=session, entry_id=entry_id, error=error)
        )

    async def _run_turn(self, item: Inbound, assistant: Assistant, final: bool = True) -> List[Reply]:
        """Hand the words to Rasa and collect its replies; answer any media; note a cut message."""
        collector = ReplyCollector()
        text = neutralise(item.text)
        bounded = bound_for_nlu(text) if text else None
        if bounded is not None:
            await assistant.handle(
                UserMessage(
                    bounded.text,
                    collector,
                    self.conversation(item.sender_id),
                    input_channel=self.channel,
                    message_id=item.message_id,
                    metadata=dict(item.metadata) or None,
                )
            )
        replies = list(collector.replies)
        if item.media:
            replies += await self._answer_media(item, final=final)
        if bounded is not None and bounded.truncated:
            replies.append(reply(self.texts.too_long_reply))
        return replies

    async def _process_unrecorded(self, item: Inbound, assistant: Assistant) -> None:
        async def work() -> None:
            try:
                replies = await self._run_turn(item, assistant)
            except Exception:
                logger.exception("%s: failed to process an unrecorded message", self.channel)
                return
            await self._send_now(self._render(item.sender_id, replies))

        await self._locks.run(self.conversation(item.sender_id), work)

    async def _answer_photo(self, item: Inbound, final: bool) -> Optional[List[Reply]]:
        message = PhotoMessage(
            channel=self.channel,
            conversation_id=self.conversation(item.sender_id),
            sender_id=item.sender_id,
            message_id=item.message_id,
            caption=neutralise(item.text),
            media_ref=item.media_ref,
        )
        fetch = getattr(self.sender, "fetch_media", None)
        texts = await self.photos.answer(message, fetch, final)
        return None if texts is None else [reply(text) for text in texts]

    async def _answer_media(self, item: Inbound, final: bool = True) -> List[Reply]:
        if item.media == "image":
            try:
                photo_replies = await self._answer_photo(item, final)
            except Exception:
                if not final:
                    raise
                logger.exception("%s: could not receive a photo; answering it as other media", self.channel)
                photo_replies = None
            if photo_replies is not None:
                return photo_replies
        texts = self.texts
        media = texts.media_name(item.media or "other")
        values = texts.clinic_values(clinic_template_values())
        if self._flag_media is None:
            self._flag_media = MediaFlagStore(self.database_url)
        caption = neutralise(item.text)
        try:
            await asyncio.to_thread(
                self._flag_media,
                channel=self.channel,
                conversation=self.conversation(item.sender_id),
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
        return [reply(texts.render(texts.media_reply, media=media, **values))]

    # -- sending -------------------------------------------------------------------------

    def _render(self, recipient: str, replies: Sequence[Reply]) -> List[Dict[str, Any]]:
        if self.sender is None:
            return []
        return [request for message in replies for request in self.sender.render(recipient, message)]

    async def _send_now(self, requests: Sequence[Mapping[str, Any]]) -> None:
        if self.sender is None:
            return
        for request in requests:
            await self.sender.deliver(request)

    def _due(self) -> List[Tuple[int, Dict[str, Any], str]]:
        with self.factory().begin() as session:
            return [
                (row.id, row.data, row.idempotency_key)
                for row in inbox.due_requests(session=session, channel=self.channel)
            ]

    def _mark(self, row_id: int, outcome: Delivery, key: str = "", provider_id: Optional[str] = None) -> None:
        def work(session: Session) -> None:
            if outcome is Delivery.SENT:
                inbox.mark_sent(session=session, message_id=row_id)
            else:
                inbox.mark_send_failed(
                    session=session,
                    message_id=row_id,
                    error=outcome.value,
                    permanent=outcome is Delivery.REFUSED,
                )
            row = session.get(inbox.OutboxMessage, row_id)
            if row is not None and row.status != inbox.SEND_PENDING:
                # An outbound message's call is final: its row is sent (or failed) with it.
                outbound.record_call(
                    session=session,
                    idempotency_key=key,
                    sent=row.status == inbox.SEND_SENT,
                    provider_message_id=provider_id,
                    error=row.last_error,
                    channel=self.channel,
                )

        self.db.write(work)

    async def _deliver(self, request: Mapping[str, Any]) -> Tuple[Delivery, Optional[str]]:
        assert self.sender is not None
        tracked = getattr(self.sender, "deliver_tracked", None)
        if tracked is not None:
            outcome, provider_id = await tracked(request)
            return outcome, provider_id
        return await self.sender.deliver(request), None

    async def send_due(self) -> int:
        """Make every due provider call once, in queue order; return how many were sent.

        After a failed call the rest of that recipient's calls wait for the next pass, so a
        patient never gets a later reply before an earlier one.
        """
        if self.sender is None:
            return 0
        if self._send_lock is None:
            self._send_lock = asyncio.Lock()
        sent = 0
        name = f"send:{self.channel}"
        async with self._send_lock:
            if not await asyncio.to_thread(self._take, name):
                return 0  # another replica is sending this channel's queue
            try:
                blocked: Set[str] = set()
                for row_id, request, key in await asyncio.to_thread(self._due):
                    recipient = str(request.get("recipient", ""))
                    if recipient in blocked:
                        continue
                    if not await asyncio.to_thread(self._take, name):
                        break  # lost the lease: the new holder sends the rest
                    outcome, provider_id = await self._deliver(request)
                    await asyncio.to_thread(self._mark, row_id, outcome, key, provider_id)
                    if outcome is Delivery.SENT:
                        sent += 1
                    else:
                        blocked.add(recipient)
            finally:
                await asyncio.to_thread(self._give_back, name)
        return sent

    # -- outbound messages (staff replies, notices, check-ins) ------------------------------

    def _window_open(self, session: Session, conversation: str, now: datetime) -> bool:
        window = getattr(self.sender, "reply_window", lambda: None)()
        if window is None:
            return True
        last = inbox.last_received_at(session=session, conversation_id=conversation)
        return last is not None and now - last < window

    def _template_for(self, row: outbound.OutboundMessage) -> Optional[Dict[str, Any]]:
        spec = row.template_spec
        if spec:
            return spec
        replies = self.settings.staff_replies
        if not replies.whatsapp_template:
            return None
        return {"name": replies.whatsapp_template, "language": replies.whatsapp_template_language}

    def _render_outbound_in(self, session: Session, now: datetime) -> int:
        """Turn this channel's queued outbound rows into provider calls; return how many were queued."""
        queued = 0
        for row in outbound.waiting(session=session, channel=self.channel):
            if self.sender is None:
                # The widget has no provider: the patient's browser reads the row from its history.
                row.rendered_at = now
                outbound.advance(row, outbound.STATUS_SENT, now=now)
                continue
            if not self._window_open(session, row.conversation_id, now):
                self._hold(session, row, now)
                continue
            message = reply(row.text, buttons=row.button_list)
            requests = self.sender.render(row.recipient, message)
            inbox.enqueue_requests(
                session=session,
                channel=self.channel,
                key=outbound.request_key(row.id),
                requests=requests,
                now=now,
            )
            row.rendered_at = now
            if not requests:
                outbound.advance(row, outbound.STATUS_FAILED, now=now, error="nothing to send")
            queued += len(requests)
        return queued

    def _hold(self, session: Session, row: outbound.OutboundMessage, now: datetime) -> None:
        """Keep a message until the patient writes again; open the window with one template meanwhile."""
        if row.held_since is not None:
            return
        assert self.sender is not None
        template = self._template_for(row)
        make = getattr(self.sender, "template_requests", None)
        if template and make is not None and row.template_carries_text:
            # The template is the message (a check-in in its variables): sent as the row's own call.
            key = outbound.request_key(row.id)
            requests = make(row.recipient, template)
            if inbox.enqueue_requests(
                session=session, channel=self.channel, key=key, requests=requests, now=now
            ):
                row.rendered_at = now
                return
        if not outbound.template_pending(session=session, conversation_id=row.conversation_id):
            requests = make(row.recipient, template) if template and make is not None else []
            if not requests:
                logger.warning(
                    "%s: reply window closed and no reply template set; the message waits", self.channel
                )
            inbox.enqueue_requests(
                session=session,
                channel=self.channel,
                key=outbound.request_key(row.id, "template"),
                requests=requests,
                now=now,
            )
        row.held_since = now

    def _expire_takeovers(self, now: datetime) -> None:
        timeout = timedelta(minutes=self.settings.staff_replies.takeover_idle_minutes)
        try:
            self.db.write(
                lambda session: takeover_flow.expire_idle(
                    session=session, channel=self.channel, timeout=timeout, now=now
                )
            )
        except Exception:  # the messages below must still go out
            logger.exception("%s: could not end idle takeovers", self.channel)

    def _reader(self) -> sessionmaker:
        """Sessions that only read: on SQLite they take no write lock, so idle polling blocks nobody."""
        if self._read_factory is None:
            engine = self.factory().kw["bind"]
            self._read_factory = make_session_factory(engine.execution_options(**{READ_ONLY: True}))
        return self._read_factory

    def _outbound_work(self, now: datetime) -> Tuple[bool, bool, bool]:
        """Whether there are idle takeovers to end, outbound rows to render, provider calls due."""
        timeout = timedelta(minutes=self.settings.staff_replies.takeover_idle_minutes)
        with self._reader().begin() as session:
            idle = takeover.has_idle(session=session, idle_timeout=timeout, channel=self.channel, now=now)
            waiting = outbound.has_waiting(session=session, channel=self.channel)
            due = inbox.has_due_requests(session=session, channel=self.channel, now=now)
        return idle, waiting, due

    async def send_outbound(self, now: Optional[datetime] = None) -> int:
        """End idle takeovers, queue the provider calls of waiting outbound messages, send what is due.

        A read-only look first: most passes find nothing, and then take no write lock at all.
        """
        moment = now or utcnow()
        idle, waiting, due = await asyncio.to_thread(self._outbound_work, moment)
        if idle:
            await asyncio.to_thread(self._expire_takeovers, moment)
        if idle or waiting:
            await asyncio.to_thread(self.db.write, lambda session: self._render_outbound_in(session, moment))
        return await self.send_due() if idle or waiting or due else 0

    def _apply_statuses(self, updates: Sequence[StatusUpdate]) -> None:
        def work(session: Session) -> None:
            for update in updates:
                outbound.apply_receipt(
                    session=session,
                    channel=self.channel,
                    provider_message_id=update.provider_message_id,
                    status=update.status,
                    error=update.error,
                )

        self.db.write(work)

    async def apply_statuses(self, updates: Sequence[StatusUpdate]) -> None:
        """Record a provider's status callbacks on the outbound messages they name (others are ignored)."""
        try:
            await asyncio.to_thread(self._apply_statuses, updates)
        except Exception:
            logger.exception("%s: could not record delivery statuses", self.channel)

    # -- the background worker -------------------------------------------------------------

    def _waiting_conversations(self) -> List[str]:
        with self.factory().begin() as session:
            return inbox.pending_conversations(session=session, channel=self.channel)

    async def replay(self, assistant: Assistant) -> None:
        """Process every pending entry (start-up, and after failures) and send what is due."""
        for conversation in await asyncio.to_thread(self._waiting_conversations):
            await self._drain(conversation, assistant)
        await self.send_due()

    def start(self, assistant: Assistant) -> None:
        """Start the worker that replays pending messages and retries sends, until cancelled."""
        if self._worker is None or self._worker.done():
            self._worker = asyncio.ensure_future(self._run_worker(assistant))
        if self._outbound_worker is None or self._outbound_worker.done():
            self._outbound_worker = asyncio.ensure_future(self._run_outbound_worker())

    async def _run_outbound_worker(self) -> None:
        while True:
            try:
                await self.send_outbound()
            except Exception:
                logger.exception("%s: the outbound worker failed; trying again shortly", self.channel)
            await asyncio.sleep(self.outbound_interval)

    async def _run_worker(self, assistant: Assistant) -> None:
        while True:
            try:
                await self.replay(assistant)
            except Exception:
                logger.exception("%s: the inbox worker failed; trying again shortly", self.channel)
            await asyncio.sleep(self.replay_interval)
