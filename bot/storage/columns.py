"""Column shapes our tables repeat, defined once so every table spells them alike.

Read qualified: ``status = columns.status(PENDING)``, ``created_at = columns.utc_now()``.

Each helper returns a new ``Column`` with exactly the options it names (the schema, and so
the migrations, are the same as spelling the ``Column`` out).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlalchemy.types import TypeEngine

from bot.storage.db import utcnow
from bot.storage.types import UTCDateTime

# Long enough for any channel's conversation id ("whatsapp:+4915...", a widget session).
CONVERSATION_ID_LENGTH = 255
STATUS_LENGTH = 16


def _flags(index: bool, unique: bool) -> dict[str, bool]:
    # Only the options asked for, as a hand-written Column would have them.
    return {name: True for name, wanted in (("index", index), ("unique", unique)) if wanted}


def required(type_: TypeEngine[Any] | type[TypeEngine[Any]], *args: Any, **options: Any) -> Column:
    """A NOT NULL column (``args``: e.g. a ``ForeignKey``)."""
    return Column(type_, *args, nullable=False, **options)


def optional(type_: TypeEngine[Any] | type[TypeEngine[Any]], *args: Any, **options: Any) -> Column:
    """A column that may be NULL."""
    return Column(type_, *args, nullable=True, **options)


def primary_id() -> Column:
    """The integer surrogate key every table of ours has."""
    return Column(Integer, primary_key=True)


def conversation_id(*, index: bool = False, unique: bool = False) -> Column:
    """The Rasa conversation (sender) id a row belongs to."""
    return required(String(CONVERSATION_ID_LENGTH), **_flags(index, unique))


def status(default: str) -> Column:
    """A short status word (each table checks its own values), starting at ``default``."""
    return required(String(STATUS_LENGTH), default=default)


def counter() -> Column:
    """A count that starts at zero (attempts, failures)."""
    return required(Integer, default=0)


def utc_now(*, index: bool = False) -> Column:
    """A required UTC time that starts as the moment the row is written (created, due, changed)."""
    return required(UTCDateTime, default=utcnow, **_flags(index, False))


def utc_time() -> Column:
    """When something happened (UTC), NULL until it has."""
    return optional(UTCDateTime)


def parent_id(target: str, *, nullable: bool = False, index: bool = True) -> Column:
    """The id of the row (``"table.id"``) this one belongs to; deleting that row deletes this one."""
    return Column(Integer, ForeignKey(target, ondelete="CASCADE"), nullable=nullable, **_flags(index, False))
