"""A widget patient's own photos in the history after a reload, and only their own (no server)."""

from __future__ import annotations

from typing import Tuple

from sqlalchemy.engine import Engine

from bot.channels.widget_history import history
from bot.channels.widget_photo import own_thumbnail, photo_entries
from bot.storage import make_session_factory
from bot.storage.photos import NewPhoto, add_photo


def _add(session, conversation: str, message_id: str, channel: str = "widget") -> int:
    photo = NewPhoto(
        conversation,
        channel,
        message_id,
        "f" + message_id[-6:],
        "t" + message_id[-6:],
        "image/jpeg",
        10,
        4,
        3,
    )
    row, _ = add_photo(session=session, photo=photo)
    session.flush()
    return int(row.id)


def test_photos_join_their_caption_or_stand_alone_in_time_order() -> None:
    events = [
        {"event": "user", "text": "hi", "message_id": "s1:m-00000001", "timestamp": 10.0},
        {"event": "user", "text": "is this red?", "message_id": "s1:m-00000002", "timestamp": 20.0},
    ]
    photos = [
        {"id": 7, "message_id": "s1:m-00000002", "at": 19.5},  # came with a caption
        {"id": 8, "message_id": "s1:m-00000003", "at": 30.0},  # no words
    ]
    shown = history(events, photos=photos)
    assert [(m["text"], m.get("photo")) for m in shown] == [
        ("hi", None),
        ("is this red?", {"id": 7}),
        ("", {"id": 8}),
    ]
    assert shown[2]["from"] == "user" and shown[2]["id"] == "m-00000003"


def test_a_patient_reads_only_their_own_widget_photos(database: Tuple[str, Engine]) -> None:
    factory = make_session_factory(database[1])
    with factory.begin() as session:
        mine = _add(session, "widget:s1", "s1:m-00000001")
        theirs = _add(session, "widget:s2", "s2:m-00000001")
        elsewhere = _add(session, "widget:s1", "wamid.00000001", channel="whatsapp")
    with factory.begin() as session:
        assert [p["id"] for p in photo_entries(session, "widget:s1")] == [mine]
        assert own_thumbnail(session, "widget:s1", mine) == ("t000001", "image/jpeg")
        assert own_thumbnail(session, "widget:s1", theirs) is None
        assert own_thumbnail(session, "widget:s1", elsewhere) is None
        assert own_thumbnail(session, "widget:s1", 999) is None
