"""``aftercare alerts run-once`` delivers what is due."""

from __future__ import annotations

from datetime import timedelta

from bot.cli import main
from bot.storage import make_engine, make_session_factory, migrate
from bot.storage.db import utcnow
from bot.storage.flags import raise_flag


def test_run_once_delivers_due_alerts(tmp_path, monkeypatch, webhook, capsys):
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with make_session_factory(engine).begin() as session:
        raise_flag(
            session=session,
            conversation_id="c",
            channel="rest",
            level="emergency",
            kind="triage",
            reason="r",
            rule="r",
            matched_text="m",
            message="m",
            now=utcnow() - timedelta(seconds=1),
        )
    engine.dispose()
    monkeypatch.setenv("AFTERCARE_DATABASE_URL", url)
    monkeypatch.setenv("AFTERCARE_ALERT_WEBHOOK_URL", webhook.url)
    for name in ("AFTERCARE_SMTP_HOST", "AFTERCARE_ALERT_EMAILS"):
        monkeypatch.delenv(name, raising=False)
    assert main(["alerts", "run-once"]) == 0
    assert "delivered 1, failed 0, skipped 1" in capsys.readouterr().out
    assert len(webhook.bodies) == 1
