"""Load the knowledge folder: the source list, every topic file, and cross-entry checks.

Layout (relative to the knowledge folder):
``sources.yml`` names the seed documents answers may cite; ``topics/*.yml`` hold the
entries, each file a mapping with one key, ``entries``, holding a list.
"""

from __future__ import annotations

from itertools import combinations
from pathlib import Path
from typing import AbstractSet, Any, Dict, Iterable, List, Sequence, Set

from bot.knowledge.base import KnowledgeBase
from bot.knowledge.errors import KnowledgeError, Problem, fail
from bot.knowledge.schema import Entry, read_entry, read_sources
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


def _read_topic_file(
    path: Path, shown: str, sources: AbstractSet[str], known_intents: AbstractSet[str] | None
) -> tuple[List[Entry], List[Problem]]:
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
        entry, entry_problems = read_entry(item, index, shown, sources, known_intents)
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


def _clashes(grouped: Dict[str, List[Entry]]) -> Iterable[Problem]:
    """Report entries that could both be the best answer to the same question."""
    for intent, candidates in grouped.items():
        for first, second in combinations(candidates, 2):
            if not first.conditions.clashes_with(second.conditions):
                continue
            days = first.conditions.days_since
            field = "conditions.days_since" if days is not None else "conditions"
            if days is not None:
                scope = f"overlapping day ranges ({days} and {second.conditions.days_since})"
            elif first.conditions.procedures is not None:
                scope = "both apply to the same procedure on any day"
            else:
                scope = "both are defaults without conditions"
            yield Problem(
                second.file,
                f"clashes with entry '{first.id}' ({first.file}) for intent '{intent}': {scope}",
                entry=second.id,
                field=field,
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


def _dangling_follow_ups(entries: Sequence[Entry]) -> Iterable[Problem]:
    ids = {entry.id for entry in entries}
    for entry in entries:
        for target in entry.follow_up:
            if target not in ids:
                yield Problem(
                    entry.file, f"names unknown entry '{target}'", entry=entry.id, field="follow_up"
                )


def load_sources(knowledge_dir: Path) -> Dict[str, str]:
    """Read ``sources.yml``: seed file name -> title shown to staff."""
    path = knowledge_dir / SOURCES_FILE
    shown = _shown(path, knowledge_dir)
    if not path.is_file():
        raise fail(shown, "not found; it lists the documents answers may cite")
    titles, problems = read_sources(read_yaml(path, shown), shown)
    if problems:
        raise KnowledgeError(problems)
    return titles


def load_knowledge_base(knowledge_dir: Path, known_intents: Set[str] | None = None) -> KnowledgeBase:
    """Load and validate every entry under ``knowledge_dir``.

    Args:
        knowledge_dir: the knowledge folder (holding ``sources.yml`` and ``topics/``).
        known_intents: intents entries may answer (see :func:`read_domain_intents`);
            None skips that check.

    Raises:
        KnowledgeError: listing every problem found, each naming file, entry and field.
    """
    sources = load_sources(knowledge_dir)
    files = topic_files(knowledge_dir)
    if not files:
        raise fail(_shown(knowledge_dir / TOPICS_DIR, knowledge_dir), "contains no topic files (*.yml)")
    entries: List[Entry] = []
    problems: List[Problem] = []
    for path in files:
        file_entries, file_problems = _read_topic_file(
            path, _shown(path, knowledge_dir), sources.keys(), known_intents
        )
        entries.extend(file_entries)
        problems.extend(file_problems)
    grouped = _by_intent(entries)
    problems.extend(_duplicate_ids(entries))
    problems.extend(_clashes(grouped))
    problems.extend(_missing_defaults(grouped))
    problems.extend(_dangling_follow_ups(entries))
    if problems:
        raise KnowledgeError(problems)
    return KnowledgeBase(entries, sources)


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
