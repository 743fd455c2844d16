"""Reading the intents from a Rasa domain file or folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.knowledge import KnowledgeError, read_domain_intents
from bot.settings import PROJECT_ROOT


def test_project_domain_lists_the_contract_intents() -> None:
    assert {"ask_peeling", "report_fever", "inform"} <= read_domain_intents(PROJECT_ROOT / "domain.yml")


def test_intents_with_options_and_domain_folders(tmp_path: Path) -> None:
    (tmp_path / "a.yml").write_text(
        "intents:\n  - greet\n  - inform:\n      use_entities: []\n", encoding="utf-8"
    )
    (tmp_path / "b.yml").write_text("responses: {}\nintents: [ask_sun]\n", encoding="utf-8")
    assert read_domain_intents(tmp_path) == {"greet", "inform", "ask_sun"}


def test_domain_without_intents_is_refused(tmp_path: Path) -> None:
    domain = tmp_path / "domain.yml"
    domain.write_text("responses: {}\n", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="lists no intents"):
        read_domain_intents(domain)
