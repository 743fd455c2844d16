"""The widget by keyboard alone, as a screen-reader user meets it, and at large text and narrow widths."""

from __future__ import annotations

from typing import Dict, List

import pytest

from bot.channels.messages import load_channel_texts
from tests.accessibility.widget import EMERGENCY_MESSAGE, open_chat, open_demo
from tests.channels.conftest import rendered_response

pytestmark = [pytest.mark.slow, pytest.mark.browser]

LABELS = load_channel_texts().widget
ACTIVE = """() => {
  const node = document.activeElement;
  return {id: node.id, cls: node.className || '', tag: node.tagName,
          inPanel: !!node.closest('#acw-panel'), href: node.getAttribute('href') || ''};
}"""


def _active(page) -> Dict[str, str]:
    return page.evaluate(ACTIVE)


def _tab_until(page, css_class: str, limit: int = 10) -> List[Dict[str, str]]:
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        seen.append(_active(page))
        if css_class in seen[-1]["cls"]:
            return seen
    raise AssertionError(f"Tab never reached .{css_class}: {seen}")


def test_open_ask_read_the_escalation_and_close_by_keyboard_only(new_page, assistant):
    page = new_page("phone")
    open_demo(page, assistant)

    # Closed: Tab reaches the launcher and nothing inside the hidden chat takes focus.
    seen = _tab_until(page, "acw-launcher")
    assert not any(step["inPanel"] for step in seen)
    page.keyboard.press("Tab")
    assert not _active(page)["inPanel"]
    page.keyboard.press("Shift+Tab")
    assert "acw-launcher" in _active(page)["cls"]

    # Enter opens it with focus in the message box; Escape closes it and returns to the launcher.
    page.keyboard.press("Enter")
    assert page.locator("#acw-panel").is_visible()
    assert _active(page)["id"] == "acw-input"
    assert page.locator(".acw-launcher").get_attribute("aria-expanded") == "true"
    page.keyboard.press("Escape")
    assert page.locator("#acw-panel").is_hidden()
    assert "acw-launcher" in _active(page)["cls"]
    assert page.locator(".acw-launcher").get_attribute("aria-expanded") == "false"

    # Space opens it too; the patient types and sends with Enter.
    page.keyboard.press("Space")
    assert _active(page)["id"] == "acw-input"
    page.keyboard.type(EMERGENCY_MESSAGE)
    page.keyboard.press("Enter")
    alert = page.locator("[role=alert]")
    alert.wait_for()

    # The escalation alone is announced at once (role="alert"), not the history before it;
    # everything else arrives through the polite log, which announces additions only.
    assert alert.count() == 1
    assert rendered_response("utter_escalate_emergency") in alert.inner_text()
    assert LABELS["emergency_banner"] in alert.inner_text()
    assert EMERGENCY_MESSAGE not in alert.inner_text()
    log = page.locator(".acw-log")
    assert (log.get_attribute("role"), log.get_attribute("aria-live")) == ("log", "polite")
    assert log.get_attribute("aria-relevant") == "additions"
    assert log.get_attribute("aria-atomic") == "false"
    assert alert.locator("xpath=ancestor::*[@role='log']").count() == 1

    # Focus stayed in the message box; the call buttons of the escalation are one Shift+Tab away.
    assert _active(page)["id"] == "acw-input"
    calls = page.locator("[role=alert] a.acw-call")
    hrefs = [calls.nth(i).get_attribute("href") for i in range(calls.count())]
    for _ in range(calls.count()):
        page.keyboard.press("Shift+Tab")
        assert _active(page)["href"] in hrefs
    assert all(href.startswith("tel:") for href in hrefs)

    # Escape from anywhere in the chat closes it and gives focus back to the launcher.
    page.keyboard.press("Escape")
    assert page.locator("#acw-panel").is_hidden()
    assert "acw-launcher" in _active(page)["cls"]
    page.keyboard.press("Tab")
    assert not _active(page)["inPanel"]


def test_every_widget_control_has_an_accessible_name(new_page, assistant):
    page = new_page()
    open_demo(page, assistant)
    open_chat(page)
    page.locator(".acw-suggestions button").first.wait_for()
    nameless = page.evaluate(
        """() => [...document.querySelectorAll('.acw button, .acw input, .acw a, .acw [tabindex]')]
              .filter(node => node.getClientRects().length)
              .filter(node => !(node.getAttribute('aria-label') || node.labels?.[0]?.textContent
                                || node.textContent).trim())
              .map(node => node.outerHTML)"""
    )
    assert nameless == []


# Narrow screens and large text (WCAG 1.4.4 and 1.4.10): a 320 px wide phone; a phone whose
# default text size is doubled (Chromium's font-size setting, i.e. rem, emulated on the root);
# a desktop browser zoomed to 200 % (which halves the CSS viewport).
LAYOUTS = {
    "320px": ({"viewport": {"width": 320, "height": 640}}, False),
    "phone at 200% text": ({"viewport": {"width": 360, "height": 740}}, True),
    "desktop at 200% zoom": ({"viewport": {"width": 640, "height": 450}, "device_scale_factor": 2}, False),
}
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const outside = [...document.querySelectorAll('.acw-launcher, .acw-panel, .acw-panel *')]
    .filter(node => node.getClientRects().length)
    .filter(node => { const box = node.getBoundingClientRect();
                      return box.left < -0.5 || box.right > width + 0.5; })
    .map(node => node.className || node.tagName);
  const panel = document.querySelector('.acw-panel');
  return {page: document.documentElement.scrollWidth - width, outside: outside,
          panel: panel.hidden ? 0 : panel.scrollWidth - panel.clientWidth};
}"""


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_no_horizontal_scrolling_at_320px_or_200_percent(new_page, assistant, layout):
    options, double_text = LAYOUTS[layout]
    page = _page_with(new_page, options)
    open_demo(page, assistant)
    if double_text:
        page.add_style_tag(content="html { font-size: 200% !important; }")
    assert page.evaluate(OVERFLOW) == {"page": 0, "outside": [], "panel": 0}
    open_chat(page)
    page.fill("#acw-input", EMERGENCY_MESSAGE)
    page.press("#acw-input", "Enter")
    page.locator("[role=alert] a.acw-call").first.wait_for()
    assert page.evaluate(OVERFLOW) == {"page": 0, "outside": [], "panel": 0}
    page.locator("#acw-input").scroll_into_view_if_needed()
    assert page.locator("#acw-input").is_visible()
    assert page.locator(".acw-send").is_visible()


def _page_with(new_page, options):  # type: ignore[no-untyped-def]
    """A page with the layout's own viewport (and device scale factor)."""
    extra = {key: value for key, value in options.items() if key != "viewport"}
    page = new_page("desktop", **extra)
    page.set_viewport_size(options["viewport"])
    return page


@pytest.mark.parametrize("motion", ["reduce", "no-preference"])
def test_the_typing_animation_respects_prefers_reduced_motion(new_page, assistant, motion):
    page = new_page(reduced_motion=motion)
    open_demo(page, assistant)
    open_chat(page)
    animation = page.evaluate("getComputedStyle(document.querySelector('.acw-dots')).animationName")
    assert (animation == "none") == (motion == "reduce")
