"""Our own tables (flags, staff, audit log, alert outbox) and read access to Rasa's tracker store.

Callers own the transaction::

    engine = make_engine(settings.database_url)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        raise_flag(session=session, ...)
"""

from bot.storage.db import make_engine, make_session_factory, utcnow

__all__ = ["make_engine", "make_session_factory", "utcnow"]
