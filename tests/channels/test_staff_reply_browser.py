"""In headless Chromium: a nurse replies from the dashboard and the open widget shows it without reload.

Two browser contexts against the real servers: the patient on the widget demo page, the
nurse logged in to ``aftercare dashboard``. Set ``AFTERCARE_UPDATE_SCREENSHOTS=1`` to refresh
``docs/screenshots/staff-reply-*.png``.
"""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium, screenshot_folder
from tests.channels.conftest import STAFF_PASSWORD, flags_of, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.browser]

STORAGE_PREFIX = "aftercare-widget-session:"


@pytest.fixture()
def browser(channel_stack) -> Iterator:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


def expect(locator):  # type: ignore[no-untyped-def]
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def test_a_dashboard_reply_appears_in_the_open_widget_once(browser, channel_stack, dashboard, tmp_path):
    screenshots = screenshot_folder(tmp_path)
    patient = browser.new_context(viewport={"width": 1000, "height": 800}).new_page()
    patient.set_default_timeout(90_000)
    patient.goto(f"{channel_stack.url}/webhooks/widget/demo")
    patient.wait_for_selector(".acw[data-ready='true']", state="attached")
    patient.click(".acw-launcher")
    patient.fill("#acw-input", "I have a fever of 39")
    patient.keyboard.press("Enter")
    expect(patient.locator(".acw-alert")).to_have_count(1)
    stored = f"Object.keys(localStorage).filter(k => k.startsWith('{STORAGE_PREFIX}'))"
    token = patient.evaluate(f"{stored}.map(k => localStorage[k])[0]")
    conversation = f"widget:{token.split('.')[1]}"
    wait_until(lambda: flags_of(channel_stack.stack.database_url, conversation), timeout=60)
    flags = dashboard.call("GET", "/api/flags?channel=widget&status=all")[1]["flags"]
    [flag_id] = [f["id"] for f in flags if f["conversation_id"] == conversation]

    nurse = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    nurse.set_default_timeout(90_000)
    nurse.goto(f"{dashboard.url}/login")
    nurse.fill("#username", "nurse")
    nurse.fill("#password", STAFF_PASSWORD)
    nurse.click("button[type=submit]")
    nurse.goto(f"{dashboard.url}/flags/{flag_id}")
    nurse.click("#takeover")
    expect(nurse.locator("#takeover-state")).to_contain_text("nurse")
    text = f"Hello, this is the nurse. How high is the fever now? ({uuid.uuid4().hex[:4]})"
    nurse.fill("#reply-text", text)
    nurse.click("#send-reply")
    expect(nurse.locator(".turn.staff")).to_contain_text(text)

    # The patient's open widget shows it without a reload: the takeover notice and the reply.
    expect(patient.locator(".acw-staff")).to_contain_text(text)
    expect(patient.locator(".acw-staff")).to_have_count(1)
    expect(patient.locator(".acw-bot", has_text="is now reading this chat")).to_have_count(1)
    patient.screenshot(path=str(screenshots / "staff-reply-widget.png"))
    nurse.reload()
    expect(nurse.locator(".turn.staff .delivery")).to_have_text("Delivered")
    nurse.screenshot(path=str(screenshots / "staff-reply-dashboard.png"), full_page=True)

    patient.reload()  # and on the next visit
    patient.wait_for_selector(".acw[data-ready='true']", state="attached")
    expect(patient.locator(".acw-staff")).to_have_count(1)
