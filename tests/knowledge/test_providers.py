"""The cached providers load from the environment once per process."""

from __future__ import annotations

from typing import Iterator

import pytest

from bot.knowledge import get_clinic_settings, get_knowledge_base
from tests.knowledge.conftest import WriteKnowledge


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    get_knowledge_base.cache_clear()
    get_clinic_settings.cache_clear()
    yield
    get_knowledge_base.cache_clear()
    get_clinic_settings.cache_clear()


def test_knowledge_dir_comes_from_the_environment(
    write_knowledge: WriteKnowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = {
        "id": "sample",
        "intents": ["ask_peeling"],
        "answer": "Hello {clinic_name}.",
        "sources": ["a.txt"],
    }
    monkeypatch.setenv("AFTERCARE_KNOWLEDGE_DIR", str(write_knowledge(entries=[entry])))
    monkeypatch.setenv("AFTERCARE_CLINIC_NAME", "Birch Clinic")
    monkeypatch.delenv("AFTERCARE_CLINIC_FILE", raising=False)
    kb = get_knowledge_base()
    assert [entry.id for entry in kb.entries] == ["sample"]
    assert kb.answer("ask_peeling").text == "Hello Birch Clinic."


def test_providers_cache_their_result() -> None:
    assert get_knowledge_base() is get_knowledge_base()
    assert get_clinic_settings() is get_clinic_settings()
