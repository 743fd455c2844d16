"""Staff see a patient's photos: only when logged in, never cached, every view audited."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.dashboard import create_app
from bot.media.intake import PhotoIntake, PhotoMessage
from bot.media.texts import load_photo_texts
from bot.settings import Settings
from bot.storage import audit
from bot.storage.outbound import OutboundMessage
from tests.dashboard.conftest import AuthActions, add_flag, make_settings
from tests.dashboard.test_api import bearer, token_for
from tests.media.images import has_gps, photo_bytes

CONVERSATION = "telegram:12345678"


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, AFTERCARE_MEDIA_DIR=str(tmp_path / "media"))


@pytest.fixture
def app(settings: Settings, session_factory: sessionmaker) -> Flask:
    app = create_app(settings, session_factory=session_factory)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def photo(settings: Settings, session_factory: sessionmaker) -> Iterator[int]:
    intake = PhotoIntake(settings.database_url, settings.media_dir, 10 * 2**20, factory=session_factory)
    message = PhotoMessage("telegram", CONVERSATION, "12345678", "bot:1", caption="look at this")
    photo_id = intake.store_bytes(message, photo_bytes("JPEG"))
    intake.flag(message)
    yield photo_id


def _flag_id(session_factory: sessionmaker) -> int:
    from bot.storage.flags import unresolved_flag

    with session_factory.begin() as session:
        flag = unresolved_flag(session=session, conversation_id=CONVERSATION, kind="triage")
        assert flag is not None
        return int(flag.id)


@pytest.mark.parametrize("path", ["/media/{id}", "/media/{id}/thumbnail"])
def test_a_photo_answers_401_to_anyone_not_logged_in(client, photo: int, path: str) -> None:
    response = client.get(path.format(id=photo))
    assert response.status_code == 401
    assert response.mimetype != "image/jpeg"


def test_staff_see_the_photo_without_gps_uncached_and_the_view_is_audited(
    client, auth: AuthActions, photo: int, session_factory: sessionmaker
) -> None:
    auth.login()
    for path in (f"/media/{photo}", f"/media/{photo}/thumbnail"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.mimetype == "image/jpeg"
        assert response.headers["Content-Disposition"].startswith("inline; filename=")
        assert "no-store" in response.headers["Cache-Control"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert not has_gps(response.get_data())
    assert client.get(f"/media/{photo + 100}").status_code == 404
    with session_factory.begin() as session:
        views = audit.entries(session=session, action="photo.view")
        assert [(v.actor, v.target, v.detail) for v in reversed(views)] == [
            ("nurse", f"photo:{photo}", "full"),
            ("nurse", f"photo:{photo}", "thumbnail"),
        ]


def test_the_transcript_shows_the_thumbnail_linking_to_the_full_photo(
    client, auth: AuthActions, photo: int, session_factory: sessionmaker
) -> None:
    auth.login()
    page = client.get(f"/flags/{_flag_id(session_factory)}").get_data(as_text=True)
    assert f'<a class="attachment" href="/media/{photo}" target="_blank"' in page
    assert f'<img src="/media/{photo}/thumbnail"' in page


def test_the_staff_api_lists_the_photo_as_an_attachment_that_answers_to_the_token(
    client, photo: int, session_factory: sessionmaker
) -> None:
    token = token_for(session_factory, "nurse")
    answer = client.get(f"/api/conversations/{CONVERSATION}", headers=bearer(token))
    assert answer.status_code == 200
    with_photos = [m for m in answer.get_json()["messages"] if m["attachments"]]
    assert [(m["from"], m["attachments"]) for m in with_photos] == [
        ("patient", [{"url": f"/media/{photo}", "content_type": "image/jpeg"}])
    ]
    url = with_photos[0]["attachments"][0]["url"]
    assert client.get(url, headers=bearer(token)).status_code == 200
    assert client.get(url, headers=bearer("not-a-token")).status_code == 401
    assert client.get(url).status_code == 401
    assert client.get(f"/media/{photo + 100}", headers=bearer(token)).status_code == 404


def test_one_click_asks_for_a_photo_with_the_consent_notice_the_first_time(
    client, auth: AuthActions, session_factory: sessionmaker
) -> None:
    flag_id = add_flag(session_factory, conversation_id="whatsapp:447700900001", channel="whatsapp")
    auth.login()
    texts = load_photo_texts()
    for request_id in ("click-1", "click-1", "click-2"):
        response = auth.post(f"/media/request/{flag_id}", {"request_id": request_id})
        assert response.status_code == 302
    with session_factory.begin() as session:
        rows = list(session.execute(select(OutboundMessage).order_by(OutboundMessage.id)).scalars())
        assert [(r.kind, r.conversation_id, r.author) for r in rows] == [
            ("photo_request", "whatsapp:447700900001", "nurse")
        ] * 2
        assert rows[0].text == f"{texts.say('photo_request')}\n\n{texts.say('consent')}"
        assert rows[1].text == texts.say("photo_request")
        assert len(audit.entries(session=session, action="photo.request")) == 2
