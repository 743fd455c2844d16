"""The widget's contact step in real headless Chromium: offered after a flag, refuses a bad
address with the server's sentence, accepts a good number (slow, needs Debian's chromium)."""

from __future__ import annotations

from typing import Iterator

import pytest

from bot.channels.widget_contact import contact_texts
from tests.browser import chromium_page
from tests.channels.conftest import channel_stack  # noqa: F401

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.fixture()
def page(channel_stack) -> Iterator:  # noqa: F811
    with chromium_page() as page:
        yield page


def test_the_contact_step_is_offered_after_a_flag_and_validated(page, channel_stack):  # noqa: F811
    from playwright.sync_api import expect

    labels, errors = contact_texts()["labels"], contact_texts()["errors"]
    page.goto(f"{channel_stack.url}/webhooks/widget/demo")
    page.wait_for_selector(".acw[data-ready='true']", state="attached")
    page.click(".acw-launcher")
    page.fill("#acw-input", "I have a fever of 39")
    page.keyboard.press("Enter")
    step = page.locator(".acw-contact")
    expect(step).to_contain_text(labels["prompt"])

    page.get_by_role("radio", name=labels["email"]).check()
    page.fill("#acw-contact-value", "jo@@example")
    page.click(".acw-contact-save")
    expect(page.locator("#acw-contact-error")).to_have_text(errors["bad_email"])
    assert page.locator("#acw-contact-value").get_attribute("aria-invalid") == "true"

    page.get_by_role("radio", name=labels["phone"]).check()
    page.fill("#acw-contact-value", "+44 20 7946 0000")
    page.click(".acw-contact-save")
    expect(step).to_have_text(labels["saved"])

    # After a reload the step is not offered again: the clinic has the number.
    page.reload()
    page.wait_for_selector(".acw[data-ready='true']", state="attached")
    page.click(".acw-launcher")
    expect(page.locator(".acw-bot").first).to_be_visible()
    assert page.locator(".acw-contact").count() == 0
