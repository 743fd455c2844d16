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
        f"CREATE TRIGGER {AUDIT_TABLE}_no_truncate BEFORE TRUNCATE ON {AUDIT_TABLE} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {AUDIT_TABLE}_append_only()",
    ),
}

# What 0002 adds on PostgreSQL (0001 had no TRUNCATE trigger; SQLite has no TRUNCATE).
TRUNCATE_STATEMENTS: Sequence[str] = (CREATE_STATEMENTS["postgresql"][2],)
DROP_TRUNCATE_STATEMENTS: Sequence[str] = (
    f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_no_truncate ON {AUDIT_TABLE}",
)

DROP_STATEMENTS: Dict[str, Sequence[str]] = {
    "sqlite": (
        f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_no_update",
        f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_no_delete",
    ),
    "postgresql": (
        DROP_TRUNCATE_STATEMENTS[0],
        f"DROP TRIGGER IF EXISTS {AUDIT_TABLE}_append_only ON {AUDIT_TABLE}",
        f"DROP FUNCTION IF EXISTS {AUDIT_TABLE}_append_only()",
    ),
}


def least_privilege_grants(role: str, schema: str = "public") -> Sequence[str]:
    """Return the PostgreSQL grants for the role the servers run as (see docs/dashboard.md).

    The role owns nothing, so it cannot drop or disable the triggers; it may read and add
    audit entries but has no UPDATE, DELETE or TRUNCATE on them. Our other tables and Rasa's
    tracker store need ordinary read and write access (the purge deletes old rows).
    """
    if not role.replace("_", "").isalnum() or not schema.replace("_", "").isalnum():
        raise ValueError("role and schema names: letters, digits and underscores only")
    quoted_role, quoted_schema = f'"{role}"', f'"{schema}"'
    return (
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {quoted_schema} FROM {quoted_role}",
        f"GRANT USAGE ON SCHEMA {quoted_schema} TO {quoted_role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {quoted_schema} TO {quoted_role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {quoted_schema}.{AUDIT_TABLE} "
        f"FROM {quoted_role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {quoted_schema} TO {quoted_role}",
        # Tables a later migration creates (as the owner running this) get the same access.
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {quoted_schema} "
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {quoted_role}",
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA {quoted_schema} "
        f"GRANT USAGE, SELECT ON SEQUENCES TO {quoted_role}",
    )
