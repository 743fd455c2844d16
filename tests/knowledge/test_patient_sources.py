"""Patients read a source's title (leaflet, link), never its file name; staff keep the exact file.

Walks every knowledge answer the assistant can give (each entry, for every procedure and
day it applies to) through the same function the action uses, renders it with the domain's
response text, and checks it, every domain response and the channels' own sentences for
anything that looks like a source file name.
"""

from __future__ import annotations

import re
from itertools import product
from typing import Any, Dict, Iterator, List, Set

import pytest
import yaml

from bot.conversation import Turn, answer_from_knowledge
from bot.knowledge import ClinicSettings, KnowledgeBase
from bot.knowledge.sources import SourceDocument, citation_formats
from bot.names import ENTRY_ID_KEY, SOURCE_FILES_KEY, UTTER_KB_ANSWER
from bot.settings import PROJECT_ROOT
from tests.knowledge.conftest import KNOWLEDGE_DIR

RESPONSES: Dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))[
    "responses"
]
SHIPPED_SOURCES = sorted(
    yaml.safe_load((KNOWLEDGE_DIR / "sources.yml").read_text(encoding="utf-8"))["sources"]
)
# A document's file name: the shipped ones exactly, and anything shaped like one.
FILE_NAME = re.compile(
    "|".join(
        [re.escape(name) for name in SHIPPED_SOURCES]
        + [r"\b\d{3}_[0-9a-f]{16}\b", r"\b[\w-]+\.(?:txt|pdf|docx?|ya?ml|md|html?|csv|rtf|odt)\b"]
    ),
    re.IGNORECASE,
)
DAYS = [None, *range(0, 120)]


class _Blank(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return ""


def rendered(response: str, values: Dict[str, Any], clinic: ClinicSettings) -> List[str]:
    """Every text variant (and button title) of a domain response, as the patient reads it."""
    filled = _Blank({**clinic.as_template_values(), **values})
    texts = []
    for variant in RESPONSES[response]:
        texts.append(str(variant.get("text", "")).format_map(filled))
        texts.extend(str(button.get("title", "")).format_map(filled) for button in variant.get("buttons", []))
    return texts


def every_knowledge_reply(kb: KnowledgeBase, clinic: ClinicSettings) -> Iterator[Any]:
    """Yield (entry id, reply) for every knowledge answer, for every procedure and day it can be given."""
    intents = sorted({intent for entry in kb.entries for intent in entry.intents})
    procedures = [None, *sorted(kb.procedures.ids)]
    for intent, procedure, days in product(intents, procedures, DAYS):
        turn = Turn("patient", "rest", "?", intent, {}, days_since=days, procedure=procedure)
        for reply in answer_from_knowledge(kb, clinic, intent, turn).replies:
            yield reply.values.get(ENTRY_ID_KEY), reply


def test_no_knowledge_answer_shows_a_patient_a_file_name(kb: KnowledgeBase, example_clinic: ClinicSettings):
    answered: Set[str] = set()
    checked = 0
    for entry_id, reply in every_knowledge_reply(kb, example_clinic):
        for text in rendered(reply.response, reply.values, example_clinic):
            assert not FILE_NAME.search(text), f"{entry_id}: {text}"
            checked += 1
        if reply.response == UTTER_KB_ANSWER:
            answered.add(str(entry_id))
            assert "Source: " in rendered(reply.response, reply.values, example_clinic)[0]
    assert answered == {entry.id for entry in kb.entries}, "some entries were never given"
    assert checked > len(kb.entries)


def test_staff_still_get_the_exact_files_and_entry(kb: KnowledgeBase, example_clinic: ClinicSettings):
    for entry_id, reply in every_knowledge_reply(kb, example_clinic):
        if reply.response != UTTER_KB_ANSWER:
            continue
        entry = next(entry for entry in kb.entries if entry.id == entry_id)
        assert reply.values[SOURCE_FILES_KEY] == "; ".join(entry.sources)
        assert all(kb.source_title(source).endswith(f"({source})") for source in entry.sources)


@pytest.mark.parametrize("response", sorted(RESPONSES))
def test_no_domain_response_names_a_file(response: str, example_clinic: ClinicSettings):
    for text in rendered(response, {}, example_clinic):
        assert not FILE_NAME.search(text), text


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


@pytest.mark.parametrize("path", ["bot/channels/messages.yml", "bot/triage/clarify.yml"])
def test_no_channel_sentence_names_a_file(path: str):
    sentences = yaml.safe_load((PROJECT_ROOT / path).read_text(encoding="utf-8"))
    for text in _strings(sentences):
        assert not FILE_NAME.search(text), text


def test_the_detector_would_catch_the_old_citation(kb: KnowledgeBase):
    assert FILE_NAME.search(kb.source_title("000_c9e12835174f2d55.txt"))
    assert FILE_NAME.search(kb.source_title("clinic.yml"))
    assert not FILE_NAME.search(kb.citation("000_c9e12835174f2d55.txt"))


@pytest.mark.parametrize(
    ("url", "leaflet", "expected"),
    [
        (None, None, "Caring for your skin"),
        (
            "https://clinic.example.org/aftercare",
            None,
            "Caring for your skin, https://clinic.example.org/aftercare",
        ),
        (None, "After your treatment", 'Caring for your skin (your leaflet "After your treatment")'),
        (
            "https://clinic.example.org/aftercare",
            "After your treatment",
            'Caring for your skin (your leaflet "After your treatment"), https://clinic.example.org/aftercare',
        ),
    ],
)
def test_a_patient_reads_the_title_with_the_clinics_link_and_leaflet(url, leaflet, expected):
    document = SourceDocument("042_0123456789abcdef.txt", "Caring for your skin", url, leaflet)
    assert document.for_patient() == expected
    assert document.for_staff == "Caring for your skin (042_0123456789abcdef.txt)"
    assert set(citation_formats()) == {"title", "with_url", "with_leaflet", "with_leaflet_and_url"}
