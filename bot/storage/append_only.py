"""Database triggers that make the audit log append-only.

The ORM refuses updates and deletes of audit entries too (see ``models``); the
triggers make the same promise hold for anyone with a SQL prompt. The models attach
these statements to ``create_all``; the first migration carries a frozen copy, and
``tests/storage/test_migrations.py`` checks both refuse changes.
"""

from __future__ import annotations

from typing import Dict, Sequence

AUDIT_TABLE = "aftercare_audit_log"

CREATE_STATEMENTS: Dict[str, Sequence[str]] = {
    "sqlite": (
        f"CREATE TRIGGER {AUDIT_TABLE}_no_update BEFORE UPDATE ON {AUDIT_TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{AUDIT_TABLE} is append-only'); END",
        f"CREATE TRIGGER {AUDIT_TABLE}_no_delete BEFORE DELETE ON {AUDIT_TABLE} "
        f"BEGIN SELECT RAISE(ABORT, '{AUDIT_TABLE} is append-only'); END",
    ),
    "postgresql": (
        f"CREATE OR REPLACE FUNCTION {AUDIT_TABLE}_append_only() RETURNS trigger "
        f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{AUDIT_TABLE} is append-only'; END $$",
        f"CREATE TRIGGER {AUDIT_TABLE}_append_only BEFORE UPDATE OR DELETE ON {AUDIT_TABLE} "
        f"FOR EACH ROW EXECUTE FUNCTION {AUDIT_TABLE}_append_only()",
    ),
}

DROP_STATEMENTS: Dict[str, Sequence[str]] = {
    "sqlite": (
        f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_no_update",
        f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_no_delete",
    ),
    "postgresql": (
        f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_append_only ON {AUDIT_TABLE}",
        f"DROP FUNCTION IF EXISTS {AUDIT_TABLE}_append_only()",
    ),
}
