"""Zero WCAG 2.1 A/AA violations (axe-core) in every widget state, on a phone and a desktop."""

from __future__ import annotations

import pytest

from tests.accessibility.axe import axe_violations, describe
from tests.accessibility.conftest import VIEWPORTS
from tests.accessibility.widget import WIDGET_STATES, WidgetState

pytestmark = [pytest.mark.slow, pytest.mark.browser]


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
@pytest.mark.parametrize("state", WIDGET_STATES, ids=lambda state: state.name)
def test_the_widget_demo_page_has_no_wcag_violations(new_page, assistant, state: WidgetState, viewport):
    page = new_page(viewport)
    state.reach(page, assistant)
    violations = axe_violations(page)
    assert violations == [], describe(violations)
