"""The audit log is append-only: through this module, the ORM and raw SQL alike."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.storage import audit
from bot.storage.models import AppendOnlyError, AuditEntry


def test_recorded_entries_are_listed_newest_first_and_filterable(session):
    audit.record(session=session, actor="nurse", action="login.success", ip="10.0.0.1")
    audit.record(session=session, actor="nurse", action="flag.view", target="flag:1")
    audit.record(session=session, actor="admin", action="staff.add", target="staff:doctor")
    assert [entry.action for entry in audit.entries(session=session)] == [
        "staff.add",
        "flag.view",
        "login.success",
    ]
    assert [entry.action for entry in audit.entries(session=session, actor="nurse")] == [
        "flag.view",
        "login.success",
    ]
    assert [entry.target for entry in audit.entries(session=session, action="flag.")] == ["flag:1"]
    assert audit.count_entries(session=session, action="login") == 1
    first = audit.entries(session=session, actor="nurse")[-1]
    assert first.ip == "10.0.0.1" and first.at.tzinfo is not None


def test_the_module_offers_no_way_to_change_or_remove_entries():
    public = [name for name in dir(audit) if not name.startswith("_")]
    assert not [name for name in public if name.startswith(("update", "delete", "remove", "edit", "purge"))]


def test_changing_an_entry_through_the_orm_is_refused(session_factory):
    with session_factory.begin() as session:
        entry_id = audit.record(session=session, actor="nurse", action="flag.view").id
    with pytest.raises(AppendOnlyError), session_factory.begin() as session:
        session.get(AuditEntry, entry_id).actor = "somebody else"
    with pytest.raises(AppendOnlyError), session_factory.begin() as session:
        session.delete(session.get(AuditEntry, entry_id))
    with session_factory.begin() as session:
        assert session.get(AuditEntry, entry_id).actor == "nurse"


@pytest.mark.parametrize(
    "statement", ["UPDATE aftercare_audit_log SET actor = 'x'", "DELETE FROM aftercare_audit_log"]
)
def test_the_database_refuses_raw_updates_and_deletes(session_factory, statement):
    with session_factory.begin() as session:
        audit.record(session=session, actor="nurse", action="flag.view")
    with pytest.raises(DBAPIError, match="append-only"), session_factory.begin() as session:
        session.execute(text(statement))
