"""Errors raised while loading knowledge and clinic files.

Every problem names the file, and where it applies the entry and the field, so clinic
staff editing YAML by hand can find the line to fix without reading Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, List


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one knowledge or clinic file."""

    file: str
    message: str
    entry: str | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.entry is not None:
            parts.append(f"entry '{self.entry}'")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        parts.append(self.message)
        return ": ".join(parts)


class KnowledgeError(ValueError):
    """Raise when knowledge or clinic files are invalid; lists every problem found."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: List[Problem] = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def fail(file: str, message: str, entry: str | None = None, field: str | None = None) -> KnowledgeError:
    """Build a single-problem error, for callers that stop at the first problem."""
    return KnowledgeError([Problem(file=file, message=message, entry=entry, field=field)])
