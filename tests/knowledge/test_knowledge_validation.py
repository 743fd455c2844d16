"""Broken knowledge folders are refused with a message naming file, entry and field."""

from __future__ import annotations

from typing import Any, Dict

import pytest

from bot.knowledge import KnowledgeError, load_knowledge_base
from tests.knowledge.conftest import TEST_INTENTS, WriteKnowledge, load_cases

CASES = load_cases("invalid_knowledge.yml")["cases"]
TOPIC_FILE = "knowledge/topics/test.yml"


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_invalid_knowledge_is_refused(case: Dict[str, Any], write_knowledge: WriteKnowledge) -> None:
    knowledge = write_knowledge(entries=case.get("entries"), raw=case.get("raw"))
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge_base(knowledge, TEST_INTENTS)
    expect = case["expect"]
    matching = [
        problem
        for problem in caught.value.problems
        if problem.file == TOPIC_FILE
        and problem.entry == expect.get("entry")
        and problem.field == expect.get("field")
        and expect["message"] in problem.message
    ]
    assert matching, f"expected {expect}, got:\n{caught.value}"
    assert str(matching[0]) in str(caught.value)


def test_message_reads_file_entry_field_problem(write_knowledge: WriteKnowledge) -> None:
    knowledge = write_knowledge(
        entries=[{"id": "peeling_timeline", "intents": ["ask_peeling"], "answer": "Hi."}]
    )
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge_base(knowledge, TEST_INTENTS)
    assert str(caught.value) == (
        "knowledge/topics/test.yml: entry 'peeling_timeline': field 'sources': must not be empty"
    )


def test_every_problem_is_reported_at_once(write_knowledge: WriteKnowledge) -> None:
    knowledge = write_knowledge(
        entries=[
            {"id": "one", "intents": ["ask_weather"], "answer": "Hi.", "sources": ["a.txt"]},
            {"id": "two", "intents": ["ask_peeling"], "answer": "Hi {x}.", "sources": ["a.txt"]},
        ]
    )
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge_base(knowledge, TEST_INTENTS)
    assert {(p.entry, p.field) for p in caught.value.problems} == {("one", "intents"), ("two", "answer")}


def test_intents_are_not_checked_without_a_domain(write_knowledge: WriteKnowledge) -> None:
    entry = {"id": "one", "intents": ["ask_anything"], "answer": "Hi.", "sources": ["a.txt"]}
    kb = load_knowledge_base(write_knowledge(entries=[entry]))
    assert kb.intents() == {"ask_anything"}


@pytest.mark.parametrize(
    ("sources", "field", "message"),
    [
        ("sources: {a.txt: {}}\n", "title", "must be non-empty text"),
        ("sources: {a.txt: {title: A, link: x}}\n", "link", "unknown key"),
        ("sources: {a.txt: {title: A, url: 'www.example.org/a'}}\n", "url", "must be a web address"),
        ("sources: {a.txt: {title: A, leaflet: ''}}\n", "leaflet", "must be non-empty text"),
        ("files: []\n", None, "exactly one key, 'sources'"),
        ("sources: [a.txt\n", None, "invalid YAML"),
    ],
)
def test_invalid_source_list_is_refused(
    sources: str, field: str, message: str, write_knowledge: WriteKnowledge
) -> None:
    entry = {"id": "one", "intents": ["ask_peeling"], "answer": "Hi.", "sources": ["a.txt"]}
    knowledge = write_knowledge(entries=[entry], sources=sources)
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge_base(knowledge, TEST_INTENTS)
    (problem,) = caught.value.problems
    assert (problem.file, problem.field) == ("knowledge/sources.yml", field)
    assert message in problem.message


def test_missing_topics_are_refused(write_knowledge: WriteKnowledge) -> None:
    knowledge = write_knowledge(entries=[])
    (knowledge / "topics" / "test.yml").unlink()
    with pytest.raises(KnowledgeError, match="knowledge/topics: contains no topic files"):
        load_knowledge_base(knowledge)
