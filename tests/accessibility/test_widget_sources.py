"""In the real widget, an answer names its source by title; staff still get the exact file and entry."""

from __future__ import annotations

import pytest

from bot.knowledge import get_knowledge_base
from bot.names import ENTRY_ID_KEY, SOURCE_FILES_KEY
from tests.accessibility.widget import ORDINARY_QUESTION, ask, open_chat, open_demo
from tests.knowledge.test_patient_sources import FILE_NAME

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_a_patient_reads_the_sources_title_and_staff_keep_the_file(new_page, assistant):
    answer = get_knowledge_base().answer("ask_peel_off")
    page = new_page()
    open_demo(page, assistant)
    open_chat(page)
    ask(page, ORDINARY_QUESTION)
    page.locator(".acw-bot", has_text=answer.text.split("\n")[0]).wait_for()
    shown = page.locator(".acw-list").inner_text()
    assert f"Source: {'; '.join(answer.citations)}" in shown
    assert not FILE_NAME.search(shown), shown

    # What the dashboard reads: the stored bot event carries the exact file and entry id.
    token = page.evaluate(
        "() => Object.entries(localStorage).find(([key]) => key.startsWith('aftercare'))[1]"
    )
    events = assistant.tracker("widget:" + token.split(".")[1])["events"]
    stored = [event.get("metadata") or {} for event in events if event.get("event") == "bot"]
    cited = [meta for meta in stored if meta.get(ENTRY_ID_KEY)]
    assert [(meta[SOURCE_FILES_KEY], meta[ENTRY_ID_KEY]) for meta in cited] == [
        ("; ".join(answer.sources), answer.entry_id)
    ]
