"""Load the knowledge folder: the source list, every topic file, and cross-entry checks.

Layout (relative to the knowledge folder):
``sources.yml`` names the seed documents answers may cite; ``topics/*.yml`` hold the
entries, each file a mapping with one key, ``entries``, holding a list.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import Any, Dict, Iterable, List, Sequence, Set, Tuple

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.course_check import course_problems
from bot.knowledge.errors import KnowledgeError, Problem, fail
from bot.knowledge.procedures import PROCEDURES_FILE, Procedures, load_procedures
from bot.knowledge.schema import Entry, KnownNames, read_entry, read_sources
from bot.knowledge.sources import SourceDocument
from bot.knowledge.yaml_files import display_path, read_yaml

SOURCES_FILE = "sources.yml"
TOPICS_DIR = "topics"
TOPIC_FILE_KEYS = ("entries",)


def _shown(path: Path, knowledge_dir: Path) -> str:
    """Name files as ``knowledge/topics/x.yml`` (the folder's own name first)."""
    return display_path(path, knowledge_dir.parent)


def topic_files(knowledge_dir: Path) -> List[Path]:
    """Return every topic file, in a stable order."""
    folder = knowledge_dir / TOPICS_DIR
    return sorted(p for pattern in ("*.yml", "*.yaml") for p in folder.rglob(pattern) if p.is_file())


def _read_topic_file(path: Path, shown: str, known: KnownNames) -> tuple[List[Entry], List[Problem]]:
    try:
        raw = read_yaml(path, shown)
    except KnowledgeError as error:
        return [], error.problems
    if not isinstance(raw, dict) or "entries" not in raw:
        return [], [Problem(shown, "must be a mapping with an 'entries' list")]
    problems = [
        Problem(shown, f"unknown top-level key (allowed: {', '.join(TOPIC_FILE_KEYS)})", field=str(key))
        for key in raw
        if key not in TOPIC_FILE_KEYS
    ]
    items = raw["entries"]
    if not isinstance(items, list) or not items:
        return [], problems + [Problem(shown, "must be a non-empty list", field="entries")]
    entries = []
    for index, item in enumerate(items):
        entry, entry_problems = read_entry(item, index, shown, known)
        problems.extend(entry_problems)
        if entry is not None:
            entries.append(entry)
    return entries, problems


def _duplicate_ids(entries: Sequence[Entry]) -> Iterable[Problem]:
    first_seen: Dict[str, Entry] = {}
    for entry in entries:
        earlier = first_seen.setdefault(entry.id, entry)
        if earlier is not entry:
            yield Problem(entry.file, f"id is already used in {earlier.file}", entry=entry.id, field="id")


def _by_intent(entries: Sequence[Entry]) -> Dict[str, List[Entry]]:
    grouped: Dict[str, List[Entry]] = {}
    for entry in entries:
        for intent in entry.intents:
            grouped.setdefault(intent, []).append(entry)
    return grouped


def _clashes(grouped: Dict[str, List[Entry]], contexts: Tuple[str | None, ...]) -> Iterable[Problem]:
    """Report entries that could both be the best answer to the same question."""
    for intent, candidates in grouped.items():
        for first, second in combinations(candidates, 2):
            scope = first.conditions.clashes_with(second.conditions, contexts)
            if scope is None:
                continue
            has_days = first.conditions.specificity[0] == 1
            yield Problem(
                second.file,
                f"clashes with entry '{first.id}' ({first.file}) for intent '{intent}': {scope}",
                entry=second.id,
                field="conditions.days_since" if has_days else "conditions",
            )


def _missing_defaults(grouped: Dict[str, List[Entry]]) -> Iterable[Problem]:
    """Every intent needs an unconditioned entry, or patients who give no day get no answer."""
    for intent, candidates in grouped.items():
        if not any(entry.conditions.specificity == (0, 0) for entry in candidates):
            first = candidates[0]
            yield Problem(
                first.file,
                f"intent '{intent}' has only conditional entries; add a default entry without conditions",
                entry=first.id,
                field="intents",
            )


def _unknown_course_names(procedures: Procedures, known: KnownNames, file: str) -> Iterable[Problem]:
    """Check the sources and intents the documented course in procedures.yml names."""
    for step in procedures.default_course.values():
        where = f"course.{step.category}"
        for source in step.sources:
            if source not in known.sources:
                yield Problem(file, f"unknown source '{source}' (not listed in sources.yml)", field=where)
        for intent in step.intents:
            if known.intents is not None and intent not in known.intents:
                yield Problem(file, f"unknown intent '{intent}' (not listed in the domain)", field=where)


def load_sources(knowledge_dir: Path) -> Dict[str, SourceDocument]:
    """Read ``sources.yml``: seed file name -> the document (title, optional link and leaflet)."""
    path = knowledge_dir / SOURCES_FILE
    shown = _shown(path, knowledge_dir)
    if not path.is_file():
        raise fail(shown, "not found; it lists the documents answers may cite")
    documents, problems = read_sources(read_yaml(path, shown), shown)
    if problems:
        raise KnowledgeError(problems)
    return documents


def load_knowledge_base(
    knowledge_dir: Path, known_intents: Set[str] | None = None, procedures: Procedures | None = None
) -> KnowledgeBase:
    """Load and validate every entry under ``knowledge_dir``.

    Args:
        knowledge_dir: the knowledge folder (holding ``sources.yml``, ``procedures.yml`` and ``topics/``).
        known_intents: intents entries may answer (see :func:`read_domain_intents`);
            None skips that check.
        procedures: the procedures with the clinic's courses (see ``procedures_for_clinic``);
            None reads ``procedures.yml`` alone, clinic-set courses following the documented one.

    Raises:
        KnowledgeError: listing every problem found, each naming file, entry and field.
    """
    sources = load_sources(knowledge_dir)
    if procedures is None:
        procedures = load_procedures(knowledge_dir)
    files = topic_files(knowledge_dir)
    if not files:
        raise fail(_shown(knowledge_dir / TOPICS_DIR, knowledge_dir), "contains no topic files (*.yml)")
    known = KnownNames(sources.keys(), known_intents, procedures)
    entries: List[Entry] = []
    problems: List[Problem] = []
    for path in files:
        file_entries, file_problems = _read_topic_file(path, _shown(path, knowledge_dir), known)
        entries.extend(file_entries)
        problems.extend(file_problems)
    grouped = _by_intent(entries)
    problems.extend(_duplicate_ids(entries))
    problems.extend(_clashes(grouped, procedures.contexts()))
    problems.extend(_missing_defaults(grouped))
    procedures_file = _shown(knowledge_dir / PROCEDURES_FILE, knowledge_dir)
    problems.extend(_unknown_course_names(procedures, known, procedures_file))
    if problems:
        raise KnowledgeError(problems)
    kb = KnowledgeBase(entries, sources, procedures)
    problems.extend(course_problems(kb))
    if problems:
        raise KnowledgeError(problems)
    return kb


def _intent_name(item: Any) -> str | None:
    if isinstance(item, str):
        return item
    if isinstance(item, dict) and len(item) == 1:
        (name,) = item
        return name if isinstance(name, str) else None
    return None


def read_domain_intents(domain_path: Path) -> Set[str]:
    """Return the intents listed in a Rasa domain file, or in every YAML file of a domain folder."""
    paths = sorted(domain_path.rglob("*.yml")) if domain_path.is_dir() else [domain_path]
    intents: Set[str] = set()
    for path in paths:
        raw = read_yaml(path, path.as_posix())
        listed = raw.get("intents", []) if isinstance(raw, dict) else []
        if not isinstance(listed, list):
            raise fail(path.as_posix(), "must be a list", field="intents")
        for item in listed:
            name = _intent_name(item)
            if name is None:
                raise fail(path.as_posix(), f"cannot read intent {item!r}", field="intents")
            intents.add(name)
    if not intents:
        raise fail(domain_path.as_posix(), "lists no intents", field="intents")
    return intents
