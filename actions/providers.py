"""Cached providers for what the actions depend on, built on first use (never at import time).

Each action takes an optional instance in its constructor, so tests hand in their own
knowledge base or a session factory on a temporary database.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Callable

from sqlalchemy.orm import sessionmaker

from bot.knowledge import ClinicSettings, KnowledgeBase, get_clinic_settings, get_knowledge_base
from bot.settings import process_settings
from bot.storage import make_engine, make_session_factory
from bot.storage.flags import raise_flag
from bot.storage.owed_flags import BY_ACTION, OwedFlagDetails, settle


def knowledge_base() -> KnowledgeBase:
    """Return the process-wide knowledge base."""
    return get_knowledge_base()


def clinic_settings() -> ClinicSettings:
    """Return the process-wide clinic settings."""
    return get_clinic_settings()


@lru_cache(maxsize=1)
def session_factory() -> sessionmaker:
    """Return a session factory on ``Settings.database_url``."""
    return make_session_factory(make_engine(process_settings().database_url))


def flag_writer(factory: Callable[[], sessionmaker] = session_factory) -> Callable[..., Any]:
    """Return a function that stores one flag in its own transaction.

    With a ``turn_key`` (the patient message it is for) the flag goes through the owed-flag
    ledger, so the action, a retry of it and the reconciler write it, and its alerts, once.
    """

    def write(*, turn_key: Any = None, **flag: Any) -> None:
        with factory().begin() as session:
            if not turn_key:
                raise_flag(session=session, **flag)
                return
            details = OwedFlagDetails(turn_key=str(turn_key), **flag)
            settle(session=session, details=details, by=BY_ACTION)

    return write
