"""Shared set-up for browser tests: Debian's Chromium driven by Playwright for Python.

Never ``playwright install``: it downloads a browser, which this network refuses. Browser
tests skip locally without Chromium and fail under ``CI=true``, where `.ci/run` installs it.
"""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from bot.settings import PROJECT_ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def require_chromium() -> None:
    """Skip (locally) or fail (in CI) when Chromium or Playwright is missing."""
    reason = None
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        reason = f"{CHROMIUM} not found; run: apt-get install -y chromium"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            reason = "playwright is not installed"
    if reason and os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"browser tests must run in CI: {reason}", pytrace=False)
    if reason:
        pytest.skip(reason)


@contextmanager
def chromium_page(width: int = 1100, height: int = 800) -> Iterator[Any]:
    """One headless Chromium page (90 s default timeout), closed with its browser afterwards."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": width, "height": height}).new_page()
            page.set_default_timeout(90_000)
            yield page
        finally:
            browser.close()


def screenshot_folder(tmp_path: Path) -> Path:
    """Where screenshots go: docs/screenshots/ with AFTERCARE_UPDATE_SCREENSHOTS=1, else a temp folder."""
    if os.environ.get("AFTERCARE_UPDATE_SCREENSHOTS") == "1":
        folder = PROJECT_ROOT / "docs" / "screenshots"
    else:
        folder = tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
