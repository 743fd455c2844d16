"""Check that answers are written in our own words, not copied from the source documents.

Facts may carry over from the sources but sentences may not; a shared run of eight or more
consecutive words (ignoring case and punctuation) is treated as copying.
"""

from __future__ import annotations

import re
from typing import Iterable, List, Set, Tuple

DEFAULT_RUN_LENGTH = 8

_WORD = re.compile(r"[a-z0-9]+")


def words(text: str) -> List[str]:
    """Split text into lower-case words, dropping punctuation."""
    return _WORD.findall(text.casefold())


def word_runs(text: str, length: int = DEFAULT_RUN_LENGTH) -> Set[Tuple[str, ...]]:
    """Return every run of ``length`` consecutive words in ``text``."""
    tokens = words(text)
    return {tuple(tokens[i : i + length]) for i in range(len(tokens) - length + 1)}


def copied_runs(text: str, sources: Iterable[str], length: int = DEFAULT_RUN_LENGTH) -> List[str]:
    """Return the runs of ``length`` words that ``text`` shares with any of ``sources``."""
    source_runs: Set[Tuple[str, ...]] = set()
    for source in sources:
        source_runs |= word_runs(source, length)
    return sorted(" ".join(run) for run in word_runs(text, length) & source_runs)
