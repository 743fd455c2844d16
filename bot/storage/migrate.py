"""Schema migrations (Alembic), configured in code so no ``alembic.ini`` is needed.

The scripts live in ``migrations/`` at the repository root. Alembic's bookkeeping table
is ``aftercare_alembic_version`` so it cannot clash with anything else in a shared
database, and migrations only ever look at ``aftercare_*`` tables.
"""

from __future__ import annotations

from typing import Optional

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from bot.settings import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"
VERSION_TABLE = "aftercare_alembic_version"
TABLE_PREFIX = "aftercare_"


def alembic_config() -> Config:
    """Return an Alembic configuration pointing at our migration scripts."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database schema to ``revision`` (default: the newest); safe to repeat."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to ``revision`` (``base`` removes every table of ours)."""
    config = alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def current_revision(engine: Engine) -> Optional[str]:
    """Return the revision the database is at, or ``None`` for an empty database."""
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
        return context.get_current_revision()


def head_revision() -> Optional[str]:
    """Return the newest revision among the migration scripts."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
