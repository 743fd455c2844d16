"""Read YAML files strictly, turning every parse problem into a KnowledgeError.

PyYAML silently keeps the last of two identical keys; in hand-edited content that
hides mistakes (a second ``answer:`` overwrites the first), so duplicates are refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from bot.knowledge.errors import fail


class _StrictLoader(yaml.SafeLoader):
    """Safe loader that refuses duplicate mapping keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> Any:
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key '{key}'", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def display_path(path: Path, base: Path) -> str:
    """Name ``path`` relative to ``base`` when possible, as staff see it in the repository."""
    try:
        return path.resolve().relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def read_yaml(path: Path, shown_as: str) -> Any:
    """Parse ``path``; ``shown_as`` is the file name used in error messages."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise fail(shown_as, f"cannot be read ({error.strerror or error})") from error
    except UnicodeDecodeError as error:
        raise fail(shown_as, "is not valid UTF-8 text") from error
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = error.problem or error.context or "cannot be parsed"
        raise fail(shown_as, f"invalid YAML{where}: {problem}") from error
    except yaml.YAMLError as error:
        raise fail(shown_as, f"invalid YAML: {error}") from error
