"""``aftercare purge`` deletes old photos: their rows, their consents, and then their files."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Tuple

import pytest
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from bot.cli import main
from bot.media.intake import PhotoIntake, PhotoMessage
from bot.media.store import MediaStore
from bot.storage import audit, make_session_factory
from bot.storage.db import utcnow
from bot.storage.photos import Photo, PhotoConsent
from tests.media.images import photo_bytes


def _store(intake: PhotoIntake, conversation: str, message_id: str) -> int:
    message = PhotoMessage("whatsapp", conversation, conversation.split(":")[1], message_id)
    photo_id = intake.store_bytes(message, photo_bytes("JPEG"))
    intake.flag(message)
    return photo_id


@pytest.fixture()
def environment(monkeypatch: pytest.MonkeyPatch, database: Tuple[str, Engine], media_dir: Path) -> None:
    monkeypatch.setenv("AFTERCARE_DATABASE_URL", database[0])
    monkeypatch.setenv("AFTERCARE_MEDIA_DIR", str(media_dir))
    monkeypatch.delenv("AFTERCARE_RETENTION_DAYS", raising=False)


def test_purge_deletes_old_photos_and_their_files_and_keeps_recent_ones(
    environment: None, database: Tuple[str, Engine], intake: PhotoIntake, media_dir: Path, capsys
) -> None:
    _, engine = database
    old_id = _store(intake, "whatsapp:447700900001", "wamid.old")
    new_id = _store(intake, "whatsapp:447700900002", "wamid.new")
    factory = make_session_factory(engine)
    long_ago = utcnow() - timedelta(days=400)
    with factory.begin() as session:
        session.execute(update(Photo).where(Photo.id == old_id).values(created_at=long_ago))
        session.execute(
            update(PhotoConsent)
            .where(PhotoConsent.conversation_id == "whatsapp:447700900001")
            .values(given_at=long_ago)
        )
        old = session.get(Photo, old_id)
        old_files = {old.file_name, old.thumbnail_name}
    # A file a crash left behind after an earlier purge's commit: no row names it.
    orphan = MediaStore(media_dir).save(b"left behind")
    os.utime(media_dir / orphan, (long_ago.timestamp(), long_ago.timestamp()))
    assert len(list(MediaStore(media_dir).names())) == 5

    assert main(["purge", "--older-than", "180d"]) == 0
    assert ", 1 photos (older" in capsys.readouterr().out
    with factory.begin() as session:
        [kept] = session.execute(select(Photo)).scalars().all()
        assert kept.id == new_id
        assert [c.conversation_id for c in session.execute(select(PhotoConsent)).scalars()] == [
            "whatsapp:447700900002"
        ]
        [entry] = audit.entries(session=session, action="retention.purge")
        assert "photos=1" in entry.detail
        remaining = set(MediaStore(media_dir).names())
    assert remaining == {kept.file_name, kept.thumbnail_name}
    assert not remaining & old_files and orphan not in remaining


def test_a_dry_run_deletes_no_photo(
    environment: None, database: Tuple[str, Engine], intake: PhotoIntake, media_dir: Path
) -> None:
    _, engine = database
    photo_id = _store(intake, "whatsapp:447700900001", "wamid.old")
    with make_session_factory(engine).begin() as session:
        session.execute(
            update(Photo).where(Photo.id == photo_id).values(created_at=utcnow() - timedelta(days=400))
        )
    assert main(["purge", "--dry-run"]) == 0
    assert len(list(MediaStore(media_dir).names())) == 2
