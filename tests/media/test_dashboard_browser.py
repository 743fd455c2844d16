"""A reviewer sees a patient's photo in headless Chromium: thumbnail, full image, audited.

Needs Debian's ``chromium`` and Playwright for Python (see ``tests/browser.py``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Tuple

import pytest

from bot.dashboard import create_app
from bot.dashboard.server import DashboardServer
from bot.media.intake import PhotoIntake, PhotoMessage
from bot.storage import audit, make_engine, make_session_factory, migrate, staff
from bot.storage.flags import unresolved_flag
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.dashboard.conftest import make_settings
from tests.media.images import has_gps, photo_bytes

pytestmark = pytest.mark.browser

CONVERSATION = "telegram:81234567"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Tuple[DashboardServer, int, object]]:
    require_chromium()
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        staff.create_staff(session=session, username="nurse", password="nurse-password-1", role="reviewer")
    settings = make_settings(url, AFTERCARE_MEDIA_DIR=str(tmp_path / "media"))
    intake = PhotoIntake(url, settings.media_dir, 10 * 2**20, factory=factory)
    message = PhotoMessage("telegram", CONVERSATION, "81234567", "bot:7", caption="is this normal?")
    photo_id = intake.store_bytes(message, photo_bytes("JPEG", size=(1200, 900)))
    intake.flag(message)
    with factory.begin() as session:
        flag = unresolved_flag(session=session, conversation_id=CONVERSATION, kind="triage")
        assert flag is not None
        flag_id = flag.id
    running = DashboardServer(create_app(settings, session_factory=factory), "127.0.0.1", 0).start()
    yield running, photo_id, (factory, flag_id)
    running.shutdown()
    engine.dispose()


def test_a_reviewer_opens_the_photo_from_its_thumbnail_and_the_views_are_audited(server) -> None:
    from playwright.sync_api import expect, sync_playwright

    running, photo_id, (factory, flag_id) = server
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            anonymous = context.request.get(f"{running.url}/media/{photo_id}", max_redirects=0)
            assert anonymous.status == 401
            page = context.new_page()
            page.goto(f"{running.url}/login")
            page.fill("#username", "nurse")
            page.fill("#password", "nurse-password-1")
            page.click("button[type=submit]")
            page.goto(f"{running.url}/flags/{flag_id}")
            thumbnail = page.locator("li.turn a.attachment img")
            expect(thumbnail).to_be_visible()
            assert 0 < thumbnail.evaluate("img => img.naturalWidth") <= 320
            with context.expect_page() as opened:
                thumbnail.click()
            full = opened.value
            # The new tab must finish its first navigation before it can be reloaded.
            full.wait_for_load_state("load")
            with full.expect_response(lambda r: r.url.endswith(f"/media/{photo_id}")) as answer:
                full.reload()
            response = answer.value
            assert response.status == 200
            assert "no-store" in response.headers["cache-control"]
            assert response.headers["content-disposition"].startswith("inline; filename=")
            assert not has_gps(response.body())
        finally:
            browser.close()
    with factory.begin() as session:
        details = [entry.detail for entry in audit.entries(session=session, action="photo.view")]
    assert "thumbnail" in details and "full" in details
