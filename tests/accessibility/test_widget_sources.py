"""In the real widget, an answer names its source by title, never by file name."""

from __future__ import annotations

import pytest

from bot.knowledge import get_knowledge_base
from tests.accessibility.widget import ORDINARY_QUESTION, ask, open_chat, open_demo
from tests.knowledge.test_patient_sources import FILE_NAME

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_a_patient_reads_the_sources_title_not_its_file(new_page, assistant):
    answer = get_knowledge_base().answer("ask_peel_off")
    page = new_page()
    open_demo(page, assistant)
    open_chat(page)
    ask(page, ORDINARY_QUESTION)
    page.locator(".acw-bot", has_text=answer.text.split("\n")[0]).wait_for()
    shown = page.locator(".acw-list").inner_text()
    assert f"Source: {'; '.join(answer.citations)}" in shown
    assert not FILE_NAME.search(shown), shown
