"""The website widget in real headless Chromium against the real assistant.

Needs Debian's ``chromium`` (``/usr/bin/chromium``) and Playwright for Python; never
``playwright install``. Skipped locally without Chromium, failed in CI (``CI=true``).
Set ``AFTERCARE_UPDATE_SCREENSHOTS=1`` to refresh ``docs/screenshots/widget-*.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from bot.channels.messages import load_channel_texts
from bot.channels.text import tel_link
from bot.knowledge import get_clinic_settings
from tests.browser import chromium_page, screenshot_folder
from tests.channels.conftest import knowledge_answer, rendered_response

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LABELS = load_channel_texts().widget
STORAGE_PREFIX = "aftercare-widget-session:"


@pytest.fixture()
def screenshots(tmp_path) -> Path:
    return screenshot_folder(tmp_path)


@pytest.fixture()
def page(channel_stack) -> Iterator:
    with chromium_page() as page:
        yield page


def expect(locator):  # type: ignore[no-untyped-def]
    """Playwright's auto-waiting assertions (imported late: Playwright is optional)."""
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def _open_demo(page, channel_stack) -> None:
    page.goto(f"{channel_stack.url}/webhooks/widget/demo")
    page.wait_for_selector(".acw[data-ready='true']", state="attached")


def _open_with_keyboard(page) -> None:
    page.focus(".acw-launcher")
    page.keyboard.press("Enter")
    page.wait_for_selector(".acw-panel", state="visible")
    assert page.evaluate("document.activeElement.id") == "acw-input"


def _ask(page, text: str) -> None:
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def _bot_texts(page) -> list:
    return page.locator(".acw-bot").all_inner_texts()


def test_ask_escalate_reload_and_refuse_a_forged_session(page, channel_stack, screenshots):
    _open_demo(page, channel_stack)
    assert page.locator(".acw-log").get_attribute("aria-live") == "polite"
    _open_with_keyboard(page)
    assert page.locator(".acw-suggestions button").count() == len(LABELS["suggestions"])

    _ask(page, "can I peel it off?")
    answer = knowledge_answer("ask_peel_off").split("\n")[0]
    page.locator(".acw-bot", has_text=answer).wait_for()
    page.locator(".acw-bot", has_text=rendered_response("utter_disclaimer")).wait_for()
    assert page.locator(".acw-typing").is_hidden()
    page.screenshot(path=str(screenshots / "widget-answer.png"))

    _ask(page, "I have a fever")
    banner = page.locator(".acw-alert.acw-urgent")
    banner.wait_for()
    assert banner.get_attribute("role") == "alert"
    assert LABELS["urgent_banner"] in banner.inner_text()
    assert rendered_response("utter_escalate_urgent") in banner.inner_text()
    clinic = get_clinic_settings()
    links = banner.locator("a.acw-call")
    assert tel_link(clinic.phone) in [links.nth(i).get_attribute("href") for i in range(links.count())]
    assert tel_link(clinic.emergency_number) in [
        links.nth(i).get_attribute("href") for i in range(links.count())
    ]
    page.screenshot(path=str(screenshots / "widget-urgent.png"))

    # Keyboard only: Escape closes the chat and gives focus back to the launcher.
    page.keyboard.press("Escape")
    assert page.locator(".acw-panel").is_hidden()
    assert "acw-launcher" in page.evaluate("document.activeElement.className")

    page.reload()
    page.wait_for_selector(".acw[data-ready='true']", state="attached")
    _open_with_keyboard(page)
    page.locator(".acw-user", has_text="can I peel it off?").wait_for()
    page.locator(".acw-alert.acw-urgent").wait_for()
    assert page.locator(".acw-user").count() == 2
    _ask(page, "thank you")
    page.locator(".acw-user", has_text="thank you").wait_for()
    expect(page.locator(".acw-pending")).to_have_count(0, timeout=90_000)
    page.locator(".acw-typing").wait_for(state="hidden")
    page.screenshot(path=str(screenshots / "widget-reload.png"))

    token = page.evaluate(
        "key => localStorage.getItem(key)", STORAGE_PREFIX + f"{channel_stack.url}/webhooks/widget"
    )
    session_id = token.split(".")[1]
    events = channel_stack.settled_user_texts(f"widget:{session_id}", 3)
    assert events == ["can I peel it off?", "I have a fever", "thank you"]

    # Someone who edits the session id in their browser gets no conversation but their own.
    version, own_id, issued, mac = token.split(".")
    forged = f"{version}.{'A' * len(own_id)}.{issued}.{mac}"
    status = page.evaluate(
        """token => fetch('history', {headers: {Authorization: 'Bearer ' + token}}).then(r => r.status)""",
        forged,
    )
    assert status == 403
    page.evaluate(
        "([key, value]) => localStorage.setItem(key, value)",
        [STORAGE_PREFIX + f"{channel_stack.url}/webhooks/widget", forged],
    )
    page.reload()
    page.wait_for_selector(".acw[data-ready='true']", state="attached")
    _open_with_keyboard(page)
    page.locator(".acw-notice", has_text=LABELS["session_renewed"]).wait_for()
    assert page.locator(".acw-user").count() == 0


def test_a_lost_answer_is_recovered_without_asking_twice(page, channel_stack):
    _open_demo(page, channel_stack)
    _open_with_keyboard(page)
    dropped = []

    def drop_first_answer(route):
        response = route.fetch()
        if not dropped:
            dropped.append(response.status)
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    page.route("**/webhooks/widget/message", drop_first_answer)
    _ask(page, "can I peel it off?")
    page.locator(".acw-status", has_text=LABELS["reconnecting"]).wait_for()
    page.locator(".acw-bot", has_text=knowledge_answer("ask_peel_off").split("\n")[0]).wait_for()
    page.locator(".acw-status", has_text=LABELS["connected"]).wait_for()
    assert dropped == [200]
    token = page.evaluate(
        "key => localStorage.getItem(key)", STORAGE_PREFIX + f"{channel_stack.url}/webhooks/widget"
    )
    assert channel_stack.settled_user_texts("widget:" + token.split(".")[1], 1) == ["can I peel it off?"]
    assert page.locator(".acw-user").count() == 1


def test_the_widget_works_embedded_in_a_clinic_website_on_another_origin(page, channel_stack):
    page.goto(f"{channel_stack.clinic_site.origin}/")
    page.wait_for_selector(".acw[data-ready='true']", state="attached")
    _open_with_keyboard(page)
    _ask(page, "can I peel it off?")
    page.locator(".acw-bot", has_text=knowledge_answer("ask_peel_off").split("\n")[0]).wait_for()
    stored = page.evaluate(
        "key => localStorage.getItem(key)", STORAGE_PREFIX + f"{channel_stack.url}/webhooks/widget"
    )
    assert stored and stored.startswith("v1.")
