"""Fixtures for the knowledge tests: the shipped knowledge, and a writer for small test folders."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, List, Set, Union

import pytest
import yaml

from bot.knowledge import ClinicSettings, KnowledgeBase, load_knowledge_base, read_domain_intents
from bot.knowledge.clinic import load_clinic_file
from bot.knowledge.procedures import PROCEDURES_FILE, procedures_for_clinic
from bot.settings import PROJECT_ROOT

KNOWLEDGE_DIR = PROJECT_ROOT / "knowledge"
CASES_DIR = Path(__file__).parent / "cases"

# Intents a patient can ask about, and the red-flag reports that get detail text (contract).
PATIENT_QUESTION_INTENTS = (
    "ask_peeling",
    "ask_peel_off",
    "ask_pimples",
    "report_redness_swelling",
    "ask_makeup",
    "ask_sun",
    "ask_exercise",
    "ask_skincare",
    "ask_results",
    "ask_home_roller",
    "ask_contraindications",
    "ask_safety",
)
ESCALATION_INTENTS = ("report_pain", "report_fever", "report_infection", "report_allergic_reaction")

# A minimal source list for hand-made knowledge folders.
TEST_SOURCES = {"sources": {"a.txt": {"title": "Source A"}, "b.txt": {"title": "Source B"}}}
TEST_INTENTS = {"ask_peeling", "ask_pimples", "report_pain"}

WriteKnowledge = Callable[..., Path]


def load_cases(name: str) -> Dict[str, Any]:
    """Read a table of test cases kept as data in ``cases/``."""
    return yaml.safe_load((CASES_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="session")
def domain_intents() -> Set[str]:
    """The intents of the real domain."""
    return read_domain_intents(PROJECT_ROOT / "domain.yml")


@pytest.fixture(scope="session")
def example_clinic() -> ClinicSettings:
    """The shipped example clinic."""
    return load_clinic_file(KNOWLEDGE_DIR / "clinic.example.yml", is_example=True)


@pytest.fixture(scope="session")
def kb(domain_intents: Set[str], example_clinic: ClinicSettings) -> KnowledgeBase:
    """The shipped knowledge base with the example clinic's courses, validated against the real domain."""
    procedures = procedures_for_clinic(KNOWLEDGE_DIR, example_clinic)
    return load_knowledge_base(KNOWLEDGE_DIR, domain_intents, procedures)


def procedures_without_sources() -> Dict[str, Any]:
    """Return the shipped procedures file fit for test folders (sources a.txt, b.txt; TEST_INTENTS)."""
    raw = yaml.safe_load((KNOWLEDGE_DIR / PROCEDURES_FILE).read_text(encoding="utf-8"))
    for step in raw["course"].values():
        step.pop("sources", None)
        step["intents"] = [intent for intent in step.get("intents", []) if intent in TEST_INTENTS]
    return raw


@pytest.fixture
def write_knowledge(tmp_path: Path) -> WriteKnowledge:
    """Return a function writing ``tmp_path/knowledge`` with the given topic file content.

    ``entries`` is dumped as ``{"entries": entries}``; ``raw`` is written as it is.
    """

    def write(
        entries: List[Any] | None = None,
        raw: str | None = None,
        sources: Union[Dict[str, Any], str] = TEST_SOURCES,  # noqa: B006 - never mutated
        file_name: str = "test.yml",
        procedures: Dict[str, Any] | None = None,
    ) -> Path:
        knowledge = tmp_path / "knowledge"
        (knowledge / "topics").mkdir(parents=True, exist_ok=True)
        sources_text = sources if isinstance(sources, str) else yaml.safe_dump(sources)
        (knowledge / "sources.yml").write_text(sources_text, encoding="utf-8")
        procedures_text = yaml.safe_dump(procedures or procedures_without_sources(), sort_keys=False)
        (knowledge / PROCEDURES_FILE).write_text(procedures_text, encoding="utf-8")
        text = raw if raw is not None else yaml.safe_dump({"entries": entries}, sort_keys=False)
        (knowledge / "topics" / file_name).write_text(text, encoding="utf-8")
        return knowledge

    return write
