"""Refused requests from an unauthenticated source fill the audit log at a bounded rate.

The log is append-only (nothing may delete a row), so its growth is bounded at the door:
per source address at most ``REFUSALS_PER_WINDOW`` entries per ``REFUSAL_WINDOW``, the last
one marked so admins see the flood. Refusals of a logged-in person are always recorded.
Real databases (SQLite file and PostgreSQL).
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import List, Tuple

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.storage import audit
from bot.storage.models import AuditEntry

T0 = datetime(2026, 12, 3, 12, 0, tzinfo=timezone.utc)


def _refuse(factory: sessionmaker, ip: str, at: datetime, actor: str = "anonymous") -> None:
    with factory.begin() as session:
        audit.record_refusal(
            session=session, actor=actor, target="/admin/staff", detail="GET login_required", ip=ip, at=at
        )


def _rows(factory: sessionmaker) -> List[Tuple[str, str, str]]:
    with factory.begin() as session:
        entries = session.execute(select(AuditEntry).order_by(AuditEntry.id)).scalars()
        return [(e.actor, str(e.ip), str(e.detail)) for e in entries]


def test_a_flood_from_one_address_is_recorded_up_to_the_limit_and_marked(session_factory) -> None:
    limit = audit.REFUSALS_PER_WINDOW
    for n in range(limit * 3):
        _refuse(session_factory, "203.0.113.9", T0 + timedelta(milliseconds=10 * n))
    _refuse(session_factory, "198.51.100.7", T0 + timedelta(seconds=1))  # another source
    rows = _rows(session_factory)
    flood = [row for row in rows if row[1] == "203.0.113.9"]
    assert len(flood) == limit
    assert flood[-1][2].endswith(audit.RATE_LIMITED) and not flood[0][2].endswith(audit.RATE_LIMITED)
    assert ("anonymous", "198.51.100.7", "GET login_required") in rows

    # The next window records again.
    _refuse(session_factory, "203.0.113.9", T0 + audit.REFUSAL_WINDOW + timedelta(seconds=1))
    assert len([row for row in _rows(session_factory) if row[1] == "203.0.113.9"]) == limit + 1


def test_refusals_of_a_logged_in_person_are_all_recorded(session_factory) -> None:
    for n in range(audit.REFUSALS_PER_WINDOW + 5):
        _refuse(session_factory, "192.0.2.1", T0 + timedelta(milliseconds=n), actor="nurse")
    assert len(_rows(session_factory)) == audit.REFUSALS_PER_WINDOW + 5
