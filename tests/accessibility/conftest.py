"""Shared browser set-up for the accessibility checks: one Chromium per session, a fresh page per check."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterator

import pytest

from tests.accessibility.axe import require_axe
from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium

# The phone the issue names and an ordinary laptop screen.
VIEWPORTS: Dict[str, Dict[str, int]] = {
    "phone": {"width": 360, "height": 740},
    "desktop": {"width": 1280, "height": 900},
}


# Module scope, not session: Playwright's sync API allows one running instance per thread,
# and the other suites' browser tests start their own.
@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium through Playwright, with axe-core installed (else skip / fail in CI)."""
    require_chromium()
    require_axe()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture()
def new_page(chromium: Any) -> Iterator[Callable[..., Any]]:
    """Open pages in fresh contexts; ``bypass_csp`` lets axe in past the pages' script-src 'self'."""
    contexts = []

    def open_page(viewport: str = "desktop", **options: Any) -> Any:
        context = chromium.new_context(viewport=VIEWPORTS[viewport], bypass_csp=True, **options)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(90_000)
        return page

    yield open_page
    for context in contexts:
        context.close()
