"""Zero WCAG 2.1 A/AA violations (axe-core) on every dashboard page, on a phone and a desktop."""

from __future__ import annotations

from typing import Dict, Iterator, Tuple

import pytest

from bot.dashboard import create_app
from bot.dashboard.server import DashboardServer
from bot.storage import make_engine, make_session_factory
from tests.accessibility.axe import axe_violations, describe
from tests.accessibility.conftest import VIEWPORTS
from tests.accessibility.dashboard import (
    ANSWER_SOURCE,
    DASHBOARD_PAGES,
    DashboardPage,
    seed,
    seed_new_screens,
)
from tests.dashboard.conftest import make_settings

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[str, Dict[str, int]]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('a11y-dashboard') / 'aftercare.db'}"
    settings = make_settings(url, AFTERCARE_MEDIA_DIR=str(tmp_path_factory.mktemp("a11y-media")))
    flags = seed(url)
    seed_new_screens(url, settings, flags)
    engine = make_engine(url)
    app = create_app(settings, session_factory=make_session_factory(engine))
    running = DashboardServer(app, "127.0.0.1", 0).start()
    yield running.url, flags
    running.shutdown()
    engine.dispose()


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize("screen", DASHBOARD_PAGES, ids=lambda screen: screen.name)
def test_the_dashboard_page_has_no_wcag_violations(new_page, dashboard, screen: DashboardPage, viewport):
    base_url, flags = dashboard
    page = new_page(viewport)
    screen.open(page, base_url, flags)
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def test_staff_see_the_exact_source_file_and_entry_of_an_answer(new_page, dashboard):
    base_url, flags = dashboard
    page = new_page()
    DashboardPage("conversation", "/flags/{urgent}").open(page, base_url, flags)
    source = page.locator(".turn.bot .source")
    assert ANSWER_SOURCE["source_files"] in source.inner_text()
    assert ANSWER_SOURCE["knowledge_entry"] in source.inner_text()
