"""A separate process that raises flags, for the multi-process write test (imports no Rasa)."""

from __future__ import annotations

from bot.storage import make_engine, make_session_factory, run_write
from bot.storage.flags import raise_flag


def write_flags(url: str, first: int, count: int) -> int:
    """Raise an urgent then an emergency flag for ``count`` conversations; return the writes done."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    done = 0
    for index in range(first, first + count):
        for level in ("urgent", "emergency"):
            run_write(
                factory,
                lambda session, index=index, level=level: raise_flag(
                    session=session,
                    conversation_id=f"process-patient-{index}",
                    channel="whatsapp",
                    level=level,
                    kind="triage",
                    reason="test",
                    rule="test.rule",
                    matched_text="fever",
                    message="I have a fever",
                ),
            )
            done += 1
    engine.dispose()
    return done
