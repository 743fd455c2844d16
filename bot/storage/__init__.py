"""Our own tables (flags, staff, audit log, alert outbox) and read access to Rasa's tracker store.

Callers own the transaction::

    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        raise_flag(session=session, ...)

or, for a write that should survive a busy database, ``run_write(factory, work)``;
for an object built before the database need be reachable, ``LazyDatabase``.
"""

from bot.storage.db import LazyDatabase, make_engine, make_session_factory, run_write, utcnow

__all__ = ["LazyDatabase", "make_engine", "make_session_factory", "run_write", "utcnow"]
