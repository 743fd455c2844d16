"""Rasa's Redis lock store with atomic updates, for several Rasa replicas sharing one Redis.

Rasa Open Source 3.6's ``RedisLockStore`` changes a conversation's ticket lock by reading
it (``GET``), changing it in Python and writing it back (``SET``). One replica does those
steps without yielding to its event loop, so a single process is safe; two replicas can
interleave them. Then both read ticket queue N, both issue ticket N+1 and both believe
they are being served: two turns of one patient run at once, each on a tracker that lacks
the other's message. A replica's cleanup can also delete the lock right after another
replica joined the queue, which makes the newcomer fail with ``LockError``.

Here every read-change-write of a lock runs in one Redis transaction (``WATCH`` /
``MULTI``; retried when another replica changed the lock in between), and the cleanup
(finish serving, then delete the lock if nobody waits) is one such transaction. Configure
it in ``endpoints.yml``::

    lock_store:
      type: bot.lock_store.AtomicRedisLockStore
      url: redis.example.org
      port: 6379
      db: 1
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Optional, Tuple, TypeVar

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

T = TypeVar("T")
# What a change does to the stored lock: write it, delete it, or leave it as it is.
Change = Tuple[str, Optional[TicketLock], T]
SAVE, DELETE, KEEP = "save", "delete", "keep"


class AtomicRedisLockStore(RedisLockStore):
    """``RedisLockStore`` whose lock changes are Redis transactions (see the module docstring)."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None, **kwargs: Any) -> None:
        if endpoint_config is not None:
            options = {k: v for k, v in endpoint_config.kwargs.items() if k not in ("type", "store_type")}
            kwargs = {**options, **kwargs}
            kwargs.setdefault("host", endpoint_config.url or "localhost")
        super().__init__(**kwargs)

    def _change(self, conversation_id: str, change: Callable[[Optional[TicketLock]], Change[T]]) -> T:
        """Apply ``change`` to the stored lock in one transaction; return what it returned."""
        key = self.key_prefix + conversation_id
        outcome: list = []

        def run(pipe: Any) -> None:
            raw = pipe.get(key)
            lock = TicketLock.from_dict(json.loads(raw)) if raw else None
            action, new_lock, result = change(lock)
            outcome[:] = [result]
            pipe.multi()
            if action == SAVE and new_lock is not None:
                pipe.set(key, new_lock.dumps())
            elif action == DELETE:
                pipe.delete(key)

        self.red.transaction(run, key)
        return outcome[0]

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """Issue the next ticket of the conversation's lock, creating the lock if needed."""

        def issue(lock: Optional[TicketLock]) -> Change[int]:
            lock = lock or self.create_lock(conversation_id)
            return SAVE, lock, lock.issue_ticket(lock_lifetime)

        try:
            return self._change(conversation_id, issue)
        except Exception as error:  # noqa: BLE001 - Rasa expects LockError for any failure here
            raise LockError(f"Error while acquiring lock. Error:\n{type(error).__name__}") from error

    def update_lock(self, conversation_id: str) -> None:
        """Drop expired tickets (a replica that died while it held or waited for the lock)."""

        def expire(lock: Optional[TicketLock]) -> Change[None]:
            if lock is None:
                return KEEP, None, None
            lock.remove_expired_tickets()
            return SAVE, lock, None

        self._change(conversation_id, expire)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        """Remove one ticket from the lock."""

        def finish(lock: Optional[TicketLock]) -> Change[None]:
            if lock is None:
                return KEEP, None, None
            lock.remove_ticket_for(ticket_number)
            return SAVE, lock, None

        self._change(conversation_id, finish)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Remove our ticket and, in the same transaction, the lock when nobody else waits."""

        def finish_and_tidy(lock: Optional[TicketLock]) -> Change[None]:
            if lock is None:
                return KEEP, None, None
            lock.remove_ticket_for(ticket_number)
            if lock.is_someone_waiting():
                return SAVE, lock, None
            return DELETE, None, None

        self._change(conversation_id, finish_and_tidy)
