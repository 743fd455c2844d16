"""Rasa's SQL tracker store, pointed at our database and hardened against a failing disk.

Two things differ from the stock ``SQL`` store: the URL comes from
``Settings.database_url`` (one setting for conversations and flags), and a failed
write (disk full, database locked or gone) is logged instead of raised, keeping the
conversation in memory, so the patient still gets their reply, escalations included.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Dict, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.settings import Settings

logger = logging.getLogger(__name__)


def _ensure_sqlite_folder(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)


class AftercareTrackerStore(SQLTrackerStore):
    """SQL tracker store on ``AFTERCARE_DATABASE_URL`` that never loses a reply to a write error."""

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        **kwargs: Dict[str, Any],
    ) -> None:
        url = host or Settings.from_env().database_url
        _ensure_sqlite_folder(url)
        self._unsaved: Dict[str, DialogueStateTracker] = {}
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Persist the tracker; on failure keep it in memory and log loudly."""
        try:
            await super().save(tracker)
        except Exception:
            logger.exception(
                "Could not store conversation %s; keeping it in memory until the database recovers.",
                tracker.sender_id,
            )
            self._unsaved[tracker.sender_id] = tracker.copy()
            return
        self._unsaved.pop(tracker.sender_id, None)

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """Return the unsaved copy first, then the database's."""
        if sender_id in self._unsaved:
            return self._unsaved[sender_id].copy()
        try:
            return await super().retrieve(sender_id)
        except Exception:
            logger.exception("Could not read conversation %s; starting from an empty one.", sender_id)
            return None
