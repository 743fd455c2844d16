"""The axe-core check is not a stub: on a deliberately broken page it reports each regression."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.accessibility.axe import AXE_SCRIPT, axe_violations, pinned_axe_version

pytestmark = pytest.mark.browser

BROKEN_PAGE = Path(__file__).with_name("fixtures") / "broken.html"
EXPECTED_RULES = {
    "scrollable-region-focusable",
    "listitem",
    "button-name",
    "label",
    "image-alt",
    "color-contrast",
}


def test_the_check_fails_on_a_page_with_known_violations(new_page):
    page = new_page()
    page.goto(BROKEN_PAGE.as_uri())
    found = {violation["id"] for violation in axe_violations(page)}
    assert found >= EXPECTED_RULES, f"axe missed {EXPECTED_RULES - found}"


def test_the_injected_axe_core_is_the_pinned_one(new_page):
    page = new_page()
    page.goto(BROKEN_PAGE.as_uri())
    axe_violations(page)
    assert page.evaluate("axe.version") == pinned_axe_version()
    assert AXE_SCRIPT.is_file()
