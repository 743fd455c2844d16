"""Build the spaCy pipeline and the matchers from the triage configuration, once per process.

spaCy is imported here and nowhere else in the package, so importing :mod:`bot.triage` (for
``Level`` or ``TriageResult``) stays cheap; the pipeline is built on the first assessment.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Sequence, Set, Tuple

import spacy
import spacy_lookups_data
from spacy.matcher import Matcher, PhraseMatcher
from spacy.pipeline import Lemmatizer
from spacy.tokens import Doc

from bot.triage.config import Expression, NearSpec, TriageConfig, default_config, expressions
from bot.triage.normalizer import Normalizer, load_dictionary

RULE = "R"
NEAR = "N"
CUE = "C"
MASK = "M"

# Context cue kinds, each read from patterns.yml (section, key).
CUE_SOURCES: Tuple[Tuple[str, str, str], ...] = (
    ("break", "context", "clause_breaks"),
    ("neg_before", "negation", "before"),
    ("neg_after", "negation", "after"),
    ("pseudo", "negation", "pseudo"),
    ("void", "negation", "void_in_clause"),
    ("reversal", "negation", "reversal"),
    ("answer_after", "negation", "answer_after"),
    ("conditional", "hypothetical", "conditional"),
    ("future", "hypothetical", "future"),
    ("general", "hypothetical", "general"),
    ("goal", "hypothetical", "goal"),
    ("embedded_question", "hypothetical", "embedded_question"),
    ("procedural", "hypothetical", "procedural"),
    ("persistence", "hypothetical", "persistence"),
    ("opener", "questions", "openers"),
    ("future_opener", "questions", "future_openers"),
    ("filler", "questions", "fillers"),
    ("strong_marker", "questions", "strong_report_markers"),
    ("weak_marker", "questions", "weak_report_markers"),
    ("general_marker", "questions", "general_markers"),
    ("anecdote_other", "anecdote", "others"),
    ("own_risk", "anecdote", "own_risk"),
    ("present", "anecdote", "present"),
)


@dataclass(frozen=True)
class Match:
    """A raw match: ``kind`` is RULE, NEAR, CUE or MASK; ``name`` the rule id or cue kind."""

    kind: str
    name: str
    start: int
    end: int
    head: int


@dataclass(frozen=True)
class CompiledNear:
    """A ``near`` spec ready for matching: its rule, window and the words that block a pairing."""

    rule_id: str
    window: int
    blocked: FrozenSet[str]


class Pipeline:
    """A spaCy pipeline that tokenises, lemmatises and normalises, plus all compiled matchers."""

    def __init__(self, config: TriageConfig) -> None:
        self.config = config
        self.nlp = spacy.blank("en")
        lemmatizer = self.nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
        self.nlp.add_pipe("sentencizer")
        self.nlp.initialize()
        if not isinstance(lemmatizer, Lemmatizer):
            raise TypeError("spaCy returned an unexpected lemmatizer component")
        table = lemmatizer.lookups.get_table("lemma_lookup")
        # The same table the lookup lemmatizer uses, for words repaired after lemmatisation.
        self.lemma: Callable[[str], str] = lambda word: table.get(word, word)
        data_dir = Path(spacy_lookups_data.__file__).parent / "data"
        self.normalizer = Normalizer(
            config.normalizer,
            lemma=self.lemma,
            dictionary=load_dictionary(data_dir),
            vocabulary=self._surface_vocabulary(),
        )
        self.matcher = Matcher(self.nlp.vocab, validate=True)
        self.phrases = PhraseMatcher(self.nlp.vocab, attr="NORM")
        self._near: List[CompiledNear] = []
        self._near_index: Dict[str, List[Tuple[int, bool]]] = {}
        self._compile()
        negation = config.context["negation"]
        hypothetical = config.context["hypothetical"]
        self.particles = self.norms(negation["particles"])
        self.answer_no_followers = self.norms(negation["answer_no_followed_by"])
        self.new_subjects = self.norms(config.context["new_subject_after_and"])
        self.break_punct = frozenset(config.context["clause_break_punct"])
        self.determiners = self.norms(hypothetical["presupposing_determiners"])
        self.bare_openers = self.norms(config.context["questions"]["bare_openers"])
        self.statement_after_opener = self.norms(
            config.context["questions"].get("statement_after_opener", [])
        )
        self.negation_window = int(negation["window"])
        self.negation_after_window = int(negation["after_window"])
        self.after_void_between = self.norms(negation["after_void_between"])
        self.hypothetical_window = int(hypothetical["window"])
        self.future_window = int(hypothetical["future_window"])
        self.no = self.normalizer.canonical("no")
        self.and_ = self.normalizer.canonical("and")
        self.the = self.normalizer.canonical("the")

    # ------------------------------------------------------------------ text to Doc
    def parse(self, text: str) -> Doc:
        """Tokenise, lemmatise and set each token's canonical form in ``token.norm_``."""
        doc = self.nlp(text)
        token_norm = self.normalizer.token_norm
        lemma = self.lemma
        for token in doc:
            if token.is_space:
                continue
            word = token.lower_
            exception = token.norm_
            # Tokenizer exceptions know that "ca" is "can", "wo" is "will" and "gon na" is "going to".
            if exception != word and exception.isascii() and " " not in exception:
                token.norm_ = token_norm(exception, lemma(exception))
            else:
                token.norm_ = token_norm(word, token.lemma_.lower())
        return doc

    def norms(self, raw: Iterable[str]) -> FrozenSet[str]:
        """Return the canonical forms of single words from the configuration."""
        return frozenset(self.normalizer.canonical(str(word)) for word in raw)

    def matches(self, doc: Doc) -> List[Match]:
        """Return every rule, cue and mask match in ``doc``."""
        found: List[Match] = []
        strings = self.nlp.vocab.strings
        for match_id, start, end in list(self.matcher(doc)) + list(self.phrases(doc)):
            kind, _, name = strings[match_id].partition(":")
            found.append(Match(kind, name, start, end, start))
        found.extend(self.near_matches(doc))
        return found

    # ------------------------------------------------------------------ compilation
    def _surface_vocabulary(self) -> Set[str]:
        extra = self.config.normalizer.get("extra_vocabulary", [])
        words: Set[str] = {str(word).lower() for word in extra}
        words.update(str(target).lower() for target in dict(self.config.normalizer["aliases"]).values())
        for rule in self.config.rules:
            for expression in rule.match:
                if isinstance(expression, str):
                    words.update(expression.lower().split())
            for spec in rule.near:
                words.update(spec.symptom)
                words.update(spec.companion)
        return {word for word in words if word.isalpha()}

    def _single_norm(self, word: str, where: str) -> str:
        doc = self.parse(word.lower())
        if len(doc) != 1:
            raise ValueError(f"{where}: {word!r} must be a single token (it splits into {len(doc)})")
        return doc[0].norm_

    def _normalise_pattern(self, pattern: Sequence[Mapping[str, Any]]) -> List[Dict[str, Any]]:
        """Put NORM values of a YAML token pattern into canonical form."""
        result = []
        for token in pattern:
            token = dict(token)
            value = token.get("NORM")
            if isinstance(value, str):
                token["NORM"] = self.normalizer.canonical(value)
            elif isinstance(value, dict):
                canonical = self.normalizer.canonical
                token["NORM"] = {
                    op: [canonical(str(word)) for word in words] if isinstance(words, list) else words
                    for op, words in value.items()
                }
            result.append(token)
        return result

    def _add(self, label: str, items: Iterable[Expression]) -> None:
        docs = []
        patterns = []
        for item in items:
            if isinstance(item, str):
                docs.append(self.parse(item.lower()))
            else:
                patterns.append(self._normalise_pattern(item))
        if docs:
            self.phrases.add(label, docs)
        if patterns:
            self.matcher.add(label, patterns)

    def _add_near(self, rule_id: str, index: int, spec: NearSpec) -> None:
        where = f"{rule_id}.near[{index}]"
        compiled = CompiledNear(
            rule_id=rule_id,
            window=spec.window,
            blocked=frozenset(self._single_norm(word, where) for word in spec.blocked_by),
        )
        slot = len(self._near)
        self._near.append(compiled)
        for word in spec.symptom:
            self._near_index.setdefault(self._single_norm(word, where), []).append((slot, True))
        for word in spec.companion:
            self._near_index.setdefault(self._single_norm(word, where), []).append((slot, False))

    def near_matches(self, doc: Doc) -> List[Match]:
        """Pair symptom and companion words of each ``near`` spec (either order, within its window).

        Done in Python rather than with Matcher wildcards: one pass over the tokens, and no
        optional-token states, keeps this well under a tenth of a millisecond per message.
        """
        positions: Dict[Tuple[int, bool], List[int]] = {}
        for token in doc:
            for slot, is_symptom in self._near_index.get(token.norm_, ()):
                positions.setdefault((slot, is_symptom), []).append(token.i)
        found = []
        for (slot, is_symptom), symptoms in positions.items():
            if not is_symptom or (slot, False) not in positions:
                continue
            spec = self._near[slot]
            for head in symptoms:
                for other in positions[(slot, False)]:
                    if other == head or abs(other - head) > spec.window:
                        continue
                    start, end = min(head, other), max(head, other) + 1
                    between = doc[start + 1 : end - 1]
                    if any(token.is_punct or token.norm_ in spec.blocked for token in between):
                        continue
                    found.append(Match(NEAR, spec.rule_id, start, end, head))
        return found

    def _compile(self) -> None:
        for rule in self.config.rules:
            self._add(f"{RULE}:{rule.id}", rule.match)
            for index, spec in enumerate(rule.near):
                self._add_near(rule.id, index, spec)
        self._add(f"{MASK}:mask", self.config.masks)
        sections = {
            "context": self.config.context,
            "negation": self.config.context["negation"],
            "hypothetical": self.config.context["hypothetical"],
            "questions": self.config.context["questions"],
            "anecdote": self.config.context.get("anecdote", {}),
        }
        for kind, section, key in CUE_SOURCES:
            self._add(f"{CUE}:{kind}", expressions(sections[section].get(key), f"{section}.{key}"))


@lru_cache(maxsize=1)
def default_pipeline() -> Pipeline:
    """Return the pipeline for the packaged patterns, built on first use (about a second)."""
    return Pipeline(default_config())
