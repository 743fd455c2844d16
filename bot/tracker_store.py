"""Rasa's SQL tracker store, pointed at our database and hardened against a failing disk.

What differs from the stock ``SQL`` store, and why:

- the URL comes from ``Settings.database_url`` (one setting for conversations and flags)
  and the engine from :func:`bot.storage.db.make_engine`: on SQLite every write starts as
  a writer with a busy timeout, and no statement parameter (patient text) reaches a log;
- no error ever ends the process (Rasa's ``session_scope`` calls ``sys.exit(1)`` on any
  ``ValueError``, which is what an unencodable sender id raises): failures are logged in
  one line without patient data and the conversation carries on in memory;
- an unreadable stored event is skipped and copied to ``aftercare_quarantined_events``
  instead of failing every later message of that patient;
- new events are appended by comparing with what is stored (type and timestamp), not by
  counting, so after an outage every turn kept in memory is stored once, in order; while
  the database is away, reads fall back to the copy in memory, and a conversation with no
  copy there (the process restarted meanwhile) that was shown the disclaimer starts from one
  that remembers it (``bot.storage.disclaimer_journal``), so the patient does not get it twice.

And what makes a turn cheap (issue 15, ``bench/README.md``):

- SQLite connections are pooled (SQLAlchemy 1.4 opens and closes a file database's
  connection per session otherwise, re-running our PRAGMAs and checkpointing the WAL on
  every close), and reads begin as readers, not queued behind writers;
- the events of a conversation's current session stay in memory with the number and
  highest id of its stored rows; a read that finds those unchanged (one indexed query)
  skips loading and decoding the history, and a save compares only the events the turn
  added, so the cost of a message does not grow with the conversation. Any change made
  by another process (another worker or replica, a purge) changes that count or id, and
  the conversation is read in full again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Generator, Iterable, List, Optional, Tuple

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore, create_engine_kwargs
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.names import DISCLAIMER_SHOWN
from bot.settings import Settings
from bot.storage.db import READ_ONLY, make_engine, make_session_factory
from bot.storage.disclaimer_journal import DisclaimerJournal, journal_path
from bot.storage.quarantine import UnreadableEvent, quarantine_events

logger = logging.getLogger(__name__)

# Conversations whose last state is kept in memory to answer reads while the database is
# away. Conversations with unsaved events are never evicted.
MEMORY_SIZE = 2000

EventKey = Tuple[str, float]
RowStamp = Tuple[int, int]  # (number of stored rows, highest row id) of one conversation


def conversation_tag(sender_id: str) -> str:
    """Return a short, stable, non-reversible tag for a conversation id, for logs."""
    digest = hashlib.sha256(sender_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"conv#{digest[:10]}"


@dataclass
class _Remembered:
    events: List[Event]
    unsaved: bool
    # The conversation's rows when ``events`` were read or saved; None when unknown.
    stored: Optional[RowStamp] = None


def engine_options(url: str) -> Dict[str, Any]:
    """Pool a SQLite file's connections (SQLAlchemy 1.4 would open one per session)."""
    options: Dict[str, Any] = dict(create_engine_kwargs(url))
    in_memory = ":memory:" in url or "mode=memory" in url or url.rstrip("/") == "sqlite:"
    if url.startswith("sqlite") and not in_memory:
        options.setdefault("poolclass", QueuePool)
        options.setdefault("pool_size", 5)
        options.setdefault("max_overflow", 10)
    return options


class AftercareTrackerStore(SQLTrackerStore):
    """SQL tracker store on ``AFTERCARE_DATABASE_URL`` that never loses a turn to a database error."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        memory_size: int = MEMORY_SIZE,
        disclaimer_file: Optional[Path] = None,
        **kwargs: Dict[str, Any],
    ) -> None:
        # Rasa's constructor builds a plain engine and retries forever while the database
        # is down; ours builds the hardened engine and lets the first write create the table.
        TrackerStore.__init__(self, domain, event_broker, **kwargs)
        if host:
            url = host
        else:
            # As Rasa builds it (no host): the settings' database, and the disclaimer record in
            # var/. A caller that names its database names the record too, or goes without one.
            settings = Settings.from_env()
            url = settings.database_url
            disclaimer_file = disclaimer_file or journal_path(settings.var_dir)
        self._disclaimers = DisclaimerJournal(disclaimer_file) if disclaimer_file is not None else None
        self.engine = make_engine(url, **engine_options(url))
        self.sessionmaker = sessionmaker(bind=self.engine)
        self._session_factory = make_session_factory(self.engine)
        self._memory: OrderedDict[str, _Remembered] = OrderedDict()
        self._memory_size = memory_size
        self._memory_lock = threading.Lock()  # Rasa uses one event loop, but tools and tests use threads
        self._schema_ready = False
        self._ensure_schema()

    # -- plumbing ---------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        try:
            self.Base.metadata.create_all(self.engine)
        except Exception as error:  # noqa: BLE001 - a parallel start or a missing database
            logger.warning("Could not create the conversation table yet (%s).", type(error).__name__)
            return
        self._schema_ready = True

    @contextlib.contextmanager
    def session_scope(self) -> Generator[Session, None, None]:
        """Provide a session; errors propagate to the caller instead of exiting the process."""
        session = self.sessionmaker()
        try:
            yield session
        finally:
            session.close()

    def _remember(
        self, sender_id: str, events: List[Event], unsaved: bool, stored: Optional[RowStamp] = None
    ) -> None:
        with self._memory_lock:
            self._memory[sender_id] = _Remembered(list(events), unsaved, stored)
            self._memory.move_to_end(sender_id)
            excess = len(self._memory) - self._memory_size
            if excess > 0:
                evictable = [key for key, value in self._memory.items() if not value.unsaved]
                for key in evictable[:excess]:
                    del self._memory[key]

    def _from_memory(self, sender_id: str) -> Optional[DialogueStateTracker]:
        with self._memory_lock:
            remembered = self._memory.get(sender_id)
        if remembered is None:
            return None
        return DialogueStateTracker.from_events(sender_id, list(remembered.events), self.domain.slots)

    def _remembered(self, sender_id: str) -> Optional[_Remembered]:
        with self._memory_lock:
            return self._memory.get(sender_id)

    def _row_stamp(self, session: Session, sender_id: str) -> RowStamp:
        table = self.SQLEvent.__table__
        statement = select(func.count(table.c.id), func.max(table.c.id)).where(table.c.sender_id == sender_id)
        count, highest = session.execute(statement).one()
        return int(count or 0), int(highest or 0)

    def has_unsaved(self, sender_id: str) -> bool:
        """Tell whether some events of this conversation are only in memory."""
        with self._memory_lock:
            remembered = self._memory.get(sender_id)
        return remembered is not None and remembered.unsaved

    # -- reading ----------------------------------------------------------------------

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """Return the conversation's current session: unsaved memory first, then the database."""
        return await self._retrieve_soft(sender_id, fetch_events_from_all_sessions=False)

    async def retrieve_full_tracker(self, conversation_id: str) -> Optional[DialogueStateTracker]:
        """Return every session of the conversation (used by Rasa's HTTP API)."""
        return await self._retrieve_soft(conversation_id, fetch_events_from_all_sessions=True)

    async def _retrieve_soft(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        if self.has_unsaved(sender_id):
            return self._from_memory(sender_id)
        try:
            tracker = await self._retrieve(sender_id, fetch_events_from_all_sessions)
        except Exception as error:  # noqa: BLE001 - any database failure degrades to memory
            remembered = self._from_memory(sender_id)
            if remembered is None and self._disclaimer_was_shown(sender_id):
                logger.error(
                    "Could not read conversation %s (%s); starting from one that saw the disclaimer.",
                    conversation_tag(sender_id),
                    type(error).__name__,
                )
                return self._tracker_that_saw_the_disclaimer(sender_id)
            logger.error(
                "Could not read conversation %s (%s); %s.",
                conversation_tag(sender_id),
                type(error).__name__,
                "using the copy in memory" if remembered is not None else "starting from an empty one",
            )
            return remembered
        return tracker

    def _disclaimer_was_shown(self, sender_id: str) -> bool:
        try:
            return self._disclaimers is not None and self._disclaimers.shown(conversation_tag(sender_id))
        except OSError as error:
            logger.error("Could not read the disclaimer record (%s).", type(error).__name__)
            return False

    def _tracker_that_saw_the_disclaimer(self, sender_id: str) -> Optional[DialogueStateTracker]:
        # One event, no session start: Rasa goes on with the session, and once the database is
        # back the turns are appended after the stored ones, with no reset of their slots.
        if not self.domain:
            return None
        events: List[Event] = [SlotSet(DISCLAIMER_SHOWN, True)]
        return DialogueStateTracker.from_events(sender_id, events, self.domain.slots)

    def _note_disclaimer(self, tracker: DialogueStateTracker) -> None:
        """Record (before any database write) that this conversation saw the disclaimer."""
        if self._disclaimers is None or not tracker.get_slot(DISCLAIMER_SHOWN):
            return
        try:
            self._disclaimers.record(conversation_tag(tracker.sender_id))
        except OSError as error:  # the conversation itself matters more
            logger.error("Could not write the disclaimer record (%s).", type(error).__name__)

    async def _retrieve(
        self, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> Optional[DialogueStateTracker]:
        """Read and replay the stored events, skipping (and quarantining) unreadable ones.

        The current session is taken from memory when the conversation's stored rows are
        exactly those it was read or saved with.
        """
        remembered = None if fetch_events_from_all_sessions else self._remembered(sender_id)
        events: List[Event] = []
        unreadable: List[UnreadableEvent] = []
        with self.session_scope() as session:
            session.connection(execution_options={READ_ONLY: True})
            stamp = self._row_stamp(session, sender_id)
            if remembered is not None and remembered.stored == stamp and self.domain and remembered.events:
                return DialogueStateTracker.from_events(sender_id, list(remembered.events), self.domain.slots)
            rows = self._event_query(session, sender_id, fetch_events_from_all_sessions).all()
        for row in rows:
            try:
                event = Event.from_parameters(json.loads(row.data))
                if event is None:
                    raise ValueError("unknown event")
            except Exception as error:  # noqa: BLE001 - whatever is wrong with the row, skip it
                unreadable.append(
                    UnreadableEvent(
                        sender_id, row.id, row.type_name, row.timestamp, type(error).__name__, row.data
                    )
                )
                continue
            events.append(event)
        if unreadable:
            self._quarantine(sender_id, unreadable)
        if not events or not self.domain:
            return None
        tracker = DialogueStateTracker.from_events(sender_id, events, self.domain.slots)
        if not fetch_events_from_all_sessions:
            # Unreadable rows are counted in the stamp but not in the events: read in full next time.
            self._remember(
                sender_id, list(tracker.events), unsaved=False, stored=None if unreadable else stamp
            )
        return tracker

    def _quarantine(self, sender_id: str, unreadable: List[UnreadableEvent]) -> None:
        try:
            with self._session_factory.begin() as session:
                added = quarantine_events(session=session, events=unreadable)
        except Exception as error:  # noqa: BLE001 - the conversation matters more than the copy
            logger.error(
                "Skipped %d unreadable stored event(s) of conversation %s; could not quarantine them (%s).",
                len(unreadable),
                conversation_tag(sender_id),
                type(error).__name__,
            )
            return
        if added:
            logger.warning(
                "Skipped %d unreadable stored event(s) of conversation %s (%s); copied to quarantine.",
                added,
                conversation_tag(sender_id),
                ", ".join(sorted({item.error for item in unreadable})),
            )

    # -- writing ----------------------------------------------------------------------

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Store the events not stored yet; on failure keep them in memory and log one line."""
        events = list(tracker.events)
        remembered = self._remembered(tracker.sender_id)
        self._note_disclaimer(tracker)
        try:
            await self.stream_events(tracker)
            self._ensure_schema()
            with self.session_scope() as session:
                known = self._known_stored(session, tracker.sender_id, events, remembered)
                rows = self._append_new_events(session, tracker.sender_id, events[known:])
                session.flush()
                if known and remembered is not None and remembered.stored is not None:
                    # Nobody else wrote since (checked in this write transaction): count on.
                    count, highest = remembered.stored
                    stamp = (count + len(rows), max([highest, *(int(row.id) for row in rows)]))
                else:
                    stamp = self._row_stamp(session, tracker.sender_id)
                session.commit()
            added = len(rows)
        except Exception as error:  # noqa: BLE001 - the reply must go out whatever the database does
            logger.error(
                "Could not store conversation %s (%s); keeping it in memory until the database recovers.",
                conversation_tag(tracker.sender_id),
                type(error).__name__,
            )
            self._remember(tracker.sender_id, events, unsaved=True)
            return
        self._remember(tracker.sender_id, current_session(events), unsaved=False, stored=stamp)
        logger.debug("Stored %d new event(s) of conversation %s.", added, conversation_tag(tracker.sender_id))

    def _known_stored(
        self, session: Session, sender_id: str, events: List[Event], remembered: Optional[_Remembered]
    ) -> int:
        """How many leading ``events`` are certainly stored already (0 when unsure).

        They are when the conversation's rows are exactly those the remembered events were
        read or saved with, and the tracker starts with those same events.
        """
        if remembered is None or remembered.unsaved or remembered.stored is None:
            return 0
        known = remembered.events
        if len(known) > len(events) or any(
            _key(a.type_name, a.timestamp) != _key(b.type_name, b.timestamp)
            for a, b in zip(known, events[: len(known)], strict=True)
        ):
            return 0
        if self._row_stamp(session, sender_id) != remembered.stored:
            return 0
        return len(known)

    def _append_new_events(self, session: Session, sender_id: str, events: List[Event]) -> List[Any]:
        """Add the events that are not in the table yet, in the tracker's order.

        An event is already stored when a row of this conversation has the same type and
        timestamp (counted, so two events of one type at one instant stay distinct). Only
        rows from the tracker's first event onwards are compared, which is the current
        session for a tracker read with :meth:`retrieve`.
        """
        if not events:
            return []
        stored = Counter(self._stored_keys(session, sender_id, min(event.timestamp for event in events)))
        added = []
        for event in events:
            key = _key(event.type_name, event.timestamp)
            if stored[key] > 0:
                stored[key] -= 1
                continue
            row = self._row(sender_id, event)
            session.add(row)
            added.append(row)
        return added

    def _stored_keys(self, session: Session, sender_id: str, since: float) -> Iterable[EventKey]:
        table = self.SQLEvent.__table__
        statement = select(table.c.type_name, table.c.timestamp).where(
            table.c.sender_id == sender_id, table.c.timestamp >= since
        )
        return (_key(type_name, timestamp) for type_name, timestamp in session.execute(statement))

    def _row(self, sender_id: str, event: Event) -> Any:
        data = event.as_dict()
        intent = ((data.get("parse_data") or {}).get("intent") or {}).get(INTENT_NAME_KEY)
        return self.SQLEvent(
            sender_id=sender_id,
            type_name=event.type_name,
            timestamp=data.get("timestamp"),
            intent_name=intent,
            action_name=data.get("name"),
            data=json.dumps(data),
        )


def current_session(events: List[Event]) -> List[Event]:
    """The events from the last session start on: what a read of the current session returns."""
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], SessionStarted):
            return events[index:]
    return events


def _key(type_name: str, timestamp: Optional[float]) -> EventKey:
    return (type_name, float(timestamp) if timestamp is not None else 0.0)
