"""Give every token a canonical form, so that informal spellings meet the rule vocabulary.

The canonical form (stored in ``token.norm_``, which every rule matches on) is the lookup lemma
of the lower-cased word after three repairs, tried in order and only for words the English
dictionary does not know: squeezing repeated letters ("paiin", "hurtsss"), restoring a dropped
final g ("hurtin"), a bounded edit-distance match against the symptom vocabulary ("fevr",
"swolen"), and, for texting without vowels ("brth", "swlln"), the one symptom word with the same
consonants. Known words are never repaired, so "paint", "never" and "store" stay themselves.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache
from itertools import combinations
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

_RUN_OF_THREE = re.compile(r"(.)\1{2,}")
_RUN_OF_TWO = re.compile(r"(.)\1+")
_VOWELS = re.compile(r"[aeiou]")


def consonant_skeleton(word: str) -> str:
    """Return ``word`` without vowels and with doubled letters squeezed ("swollen" -> "swln")."""
    return _RUN_OF_TWO.sub(r"\1", _VOWELS.sub("", word))


def damerau_levenshtein(left: str, right: str) -> int:
    """Return the optimal-string-alignment edit distance between two words."""
    rows = len(left) + 1
    cols = len(right) + 1
    previous_previous: List[int] = []
    previous = list(range(cols))
    for i in range(1, rows):
        current = [i] + [0] * (cols - 1)
        for j in range(1, cols):
            cost = 0 if left[i - 1] == right[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and left[i - 1] == right[j - 2] and left[i - 2] == right[j - 1]:
                current[j] = min(current[j], previous_previous[j - 2] + 1)
        previous_previous, previous = previous, current
    return previous[-1]


def _common_prefix(left: str, right: str) -> int:
    size = 0
    for first, second in zip(left, right, strict=False):
        if first != second:
            break
        size += 1
    return size


def _deletions(word: str, distance: int) -> Set[str]:
    """Return every string made by deleting up to ``distance`` letters from ``word``."""
    result = {word}
    for count in range(1, min(distance, len(word) - 1) + 1):
        for positions in combinations(range(len(word)), count):
            result.add("".join(letter for index, letter in enumerate(word) if index not in positions))
    return result


class FuzzyVocabulary:
    """Find the single vocabulary word within a small edit distance (symmetric-deletion index)."""

    def __init__(self, vocabulary: Iterable[str], distances: Sequence[Tuple[int, int]]) -> None:
        self._distances = sorted(distances)
        self._max_distance = max(distance for _, distance in self._distances)
        self._index: Dict[str, Set[str]] = {}
        for word in vocabulary:
            for variant in _deletions(word, self._max_distance):
                self._index.setdefault(variant, set()).add(word)

    def allowed_distance(self, word: str) -> int:
        """Return how many edits a word of this length may have (0: too short to repair)."""
        allowed = 0
        for min_length, distance in self._distances:
            if len(word) >= min_length:
                allowed = distance
        return allowed

    def closest(self, word: str) -> Optional[str]:
        """Return the closest vocabulary word within the allowed distance.

        Ties go to the candidate of the most similar length, then the longest shared prefix.
        """
        allowed = self.allowed_distance(word)
        if not allowed:
            return None
        candidates: Set[str] = set()
        for variant in _deletions(word, allowed):
            candidates.update(self._index.get(variant, ()))
        scored = sorted(
            (
                damerau_levenshtein(word, candidate),
                abs(len(word) - len(candidate)),
                -_common_prefix(word, candidate),
                candidate,
            )
            for candidate in candidates
        )
        best = [item for item in scored if item[0] <= allowed]
        return best[0][-1] if best else None


def load_dictionary(lookups_data_dir: Path) -> FrozenSet[str]:
    """Return the English words known to spacy-lookups-data (WordNet lemmas and inflections)."""
    words: Set[str] = set()
    with gzip.open(lookups_data_dir / "en_lemma_index.json.gz", "rt", encoding="utf-8") as handle:
        for entries in json.load(handle).values():
            words.update(entries)
    with gzip.open(lookups_data_dir / "en_lemma_lookup.json.gz", "rt", encoding="utf-8") as handle:
        table = json.load(handle)
    words.update(table.keys())
    words.update(table.values())
    return frozenset(words)


class Normalizer:
    """Map a lower-cased token to the canonical form the rules are written in."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        lemma: Callable[[str], str],
        dictionary: FrozenSet[str],
        vocabulary: Iterable[str],
    ) -> None:
        self._lemma = lemma
        self._dictionary = dictionary
        self._aliases: Dict[str, str] = {
            str(key).lower(): str(value).lower() for key, value in dict(settings["aliases"]).items()
        }
        self._keep_form = frozenset(str(word) for word in settings.get("keep_form", []))
        self._stoplist = frozenset(str(word) for word in settings.get("fuzzy_stoplist", []))
        self._min_length = int(settings.get("fuzzy_min_length", 4))
        distances = [
            (int(item["min_length"]), int(item["distance"])) for item in settings.get("fuzzy_distance", [])
        ]
        self._surface = frozenset(word for word in vocabulary if word.isalpha())
        self._vocabulary = frozenset(word for word in self._surface if len(word) >= self._min_length)
        self._fuzzy = FuzzyVocabulary(self._vocabulary, distances or [(self._min_length, 1)])
        self._skeleton_min_length = int(settings.get("skeleton_min_length", 3))
        self._skeletons: Dict[str, Set[str]] = {}
        for word in self._vocabulary:
            self._skeletons.setdefault(consonant_skeleton(word), set()).add(word)
        self.canonical = lru_cache(maxsize=65536)(self._canonical)
        self.token_norm = lru_cache(maxsize=65536)(self._token_norm)

    @property
    def vocabulary(self) -> FrozenSet[str]:
        """Return the words that typos are repaired toward."""
        return self._vocabulary

    def is_known(self, word: str) -> bool:
        """Tell whether ``word`` is an English word or part of the symptom vocabulary."""
        return word in self._dictionary or word in self._vocabulary

    def repair(self, word: str) -> str:
        """Return the intended word for an unknown informal spelling, or ``word`` unchanged."""
        if not word.isalpha() or self.is_known(word) or word in self._stoplist:
            return word
        for squeezed in (_RUN_OF_THREE.sub(r"\1\1", word), _RUN_OF_TWO.sub(r"\1", word)):
            # Short symptom words count here too: "owww" is "oww", though too short to fuzzy-match.
            if squeezed != word and (self.is_known(squeezed) or squeezed in self._surface):
                return squeezed
        if word.endswith("in") and self.is_known(word + "g"):
            return word + "g"
        if not _VOWELS.search(word):
            return self._unvowelled(word)
        if len(word) < self._min_length:
            return word
        closest = self._fuzzy.closest(_RUN_OF_THREE.sub(r"\1\1", word))
        return closest if closest else word

    def _unvowelled(self, word: str) -> str:
        """Return the symptom word a vowel-less texting form stands for, when only one fits."""
        skeleton = consonant_skeleton(word)
        if len(skeleton) < self._skeleton_min_length:
            return word
        candidates = sorted(self._skeletons.get(skeleton, ()), key=lambda item: (len(item), item))
        meanings = {self._lemma(self._aliases.get(candidate, candidate)) for candidate in candidates}
        return candidates[0] if len(meanings) == 1 else word

    def _canonical(self, text: str) -> str:
        """Return the canonical form of a word seen on its own."""
        return self._token_norm(text.lower(), self._lemma(text.lower()))

    def _token_norm(self, text: str, lemma: str) -> str:
        """Return the canonical form of a lower-cased token whose lookup lemma is ``lemma``."""
        word = text
        if word in self._aliases:
            word = self._aliases[word]
        elif word not in self._keep_form:
            word = self.repair(word)
            if word in self._aliases:
                word = self._aliases[word]
        if word in self._keep_form:
            return word
        if word == text:
            return lemma
        # A repaired word is read again, exactly as the rule words were ("owww" -> "oww" -> "ow").
        return self.canonical(word)
