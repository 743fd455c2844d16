"""The real dashboard server driven by headless Chromium: log in, review, resolve.

Needs Debian's ``chromium`` (``/usr/bin/chromium``) and Playwright for Python; never
``playwright install``. Skipped locally without Chromium, failed in CI (``CI=true``).
Set ``AFTERCARE_UPDATE_SCREENSHOTS=1`` to refresh the pictures in ``docs/screenshots/``.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Iterator, List

import pytest

from bot.dashboard import create_app
from bot.dashboard.server import DashboardServer
from bot.storage import make_engine, make_session_factory, migrate, staff
from bot.storage.flags import acknowledge, raise_flag
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, screenshot_folder
from tests.dashboard.conftest import T0, make_settings
from tests.storage.rasa_events import add_event, bot, create_rasa_events_table, slot, user

pytestmark = pytest.mark.browser

SCRIPT = "<script>alert(1)</script>"
PATIENT = "+447700900123"


# The morning's flags, as the assistant would have raised them.
FLAGS = [
    {
        "conversation_id": PATIENT, "channel": "twilio", "level": "urgent", "kind": "triage",
        "reason": "Fever after treatment", "rule": "fever_over_38", "matched_text": "fever",
        "message": "I think I have a fever, 38.6 this morning", "minutes": -2,
    },
    {
        "conversation_id": "81234567", "channel": "telegram", "level": "emergency", "kind": "triage",
        "reason": "Possible allergic reaction", "rule": "allergy_breathing",
        "matched_text": "hard to breathe",
        "message": "my lips are swelling and it is hard to breathe", "minutes": -20,
    },
    {
        "conversation_id": "2f0c3e4d9abc", "channel": "rest", "level": "routine", "kind": "triage",
        "reason": "Redness lasting longer than expected", "rule": "redness_day_4",
        "matched_text": "still red",
        "message": "still red on day 4, is that normal?", "minutes": -95,
    },
    {
        "conversation_id": "55550123", "channel": "telegram", "level": "handoff", "kind": "handoff",
        "reason": "Asked to talk to the clinic", "rule": "request_human", "matched_text": "talk to someone",
        "message": "can I talk to someone please", "minutes": -140, "acknowledged_by": "nurse",
    },
]  # fmt: skip


def transcript(t: float) -> list:
    return [
        user(f"hi, it's about my microneedling on Monday {SCRIPT}", "greet", t - 300),
        bot("Hello! I can help with aftercare questions about your treatment.", t - 299),
        user("I think I have a fever, 38.6 this morning", "report_fever", t - 120),
        slot("triage_level", "urgent", t - 119),
        bot(
            "A fever after a skin treatment needs a doctor's opinion: please call the clinic today.", t - 118
        ),
        user("ok thank you", "thank", t - 60),
        bot("You're welcome. The clinic team has been told about your message.", t - 59),
    ]


def seed(url: str) -> None:
    """Migrate a fresh database, add a reviewer, the flags above and one patient's conversation."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with make_session_factory(engine).begin() as session:
        staff.create_staff(session=session, username="nurse", password="nurse-password-1", role="reviewer")
        for spec in FLAGS:
            values = {key: value for key, value in spec.items() if key not in ("minutes", "acknowledged_by")}
            when = T0 + timedelta(minutes=int(spec["minutes"]))
            flag = raise_flag(
                session=session, channel_user_id=str(spec["conversation_id"]), now=when, **values
            )
            if "acknowledged_by" in spec:
                acknowledge(session=session, flag=flag, by=str(spec["acknowledged_by"]), now=when)
    create_rasa_events_table(engine)
    for event in transcript(T0.timestamp()):
        add_event(engine, PATIENT, event)
    engine.dispose()


@pytest.fixture
def server(tmp_path) -> Iterator[DashboardServer]:
    require_chromium()
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    seed(url)
    engine = make_engine(url)
    app = create_app(
        make_settings(url, AFTERCARE_TIMEZONE="Europe/London"), session_factory=make_session_factory(engine)
    )
    running = DashboardServer(app, "127.0.0.1", 0).start()
    yield running
    running.shutdown()
    engine.dispose()


@pytest.fixture
def screenshots(tmp_path) -> Path:
    return screenshot_folder(tmp_path)


def test_a_reviewer_logs_in_reads_the_conversation_and_resolves_the_flag(server, screenshots):
    from playwright.sync_api import expect, sync_playwright

    dialogs: List[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

            page.goto(f"{server.url}/")
            expect(page).to_have_url(f"{server.url}/login?next=/")
            page.screenshot(path=str(screenshots / "login.png"))
            page.fill("#username", "nurse")
            page.fill("#password", "nurse-password-1")
            page.click("button[type=submit]")

            expect(page.get_by_role("heading", name="Flagged conversations")).to_be_visible()
            rows = page.locator("table.queue tbody tr")
            expect(rows).to_have_count(4)
            expect(rows.nth(0)).to_contain_text("Emergency")
            expect(rows.nth(1)).to_contain_text("+44 ••• ••• 123")
            expect(page.locator("body")).not_to_contain_text(PATIENT)
            page.screenshot(path=str(screenshots / "queue.png"), full_page=True)

            rows.nth(1).get_by_role("link", name="Open conversation").click()
            expect(page.get_by_text(f"hi, it's about my microneedling on Monday {SCRIPT}")).to_be_visible()
            expect(page.locator("li.turn.flagged")).to_contain_text("I think I have a fever")
            expect(page.locator("li.turn.flagged")).to_contain_text("fever_over_38")
            page.screenshot(path=str(screenshots / "conversation.png"), full_page=True)

            page.select_option("select[name=outcome]", "contacted_patient")
            page.fill("textarea[name=note]", "Called back, appointment tomorrow 9:00")
            page.get_by_role("button", name="Resolve").click()
            expect(page.get_by_text("Flag resolved. It has left the queue.")).to_be_visible()
            expect(page.locator("article.flag.current")).to_contain_text("nurse")
            expect(page.locator("article.flag.current")).to_contain_text("Contacted patient")

            page.get_by_role("link", name="← Queue").click()
            expect(page.locator("table.queue tbody tr")).to_have_count(3)
            expect(page.locator("table.queue")).not_to_contain_text("+44 ••• ••• 123")
        finally:
            browser.close()
    assert dialogs == []
