"""Assess one patient message: find symptom mentions, keep those reported, and pick the level.

The engine is deterministic and explains itself: every finding carries its rule id, its
character span in the original message, and (for mentions that did not count) the reason.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Dict, List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc

from bot.triage.config import CourseLimits, Rule, TriageConfig
from bot.triage.context import MessageContext
from bot.triage.levels import Level
from bot.triage.measures import DurationReader, Reading, TemperatureReader, longest
from bot.triage.pipeline import MASK, NEAR, RULE, Match, Pipeline, default_pipeline
from bot.triage.result import ASSERTED, Finding, TriageResult

logger = logging.getLogger(__name__)

# Longer messages are cut here: far beyond any chat message, and it bounds the work per call.
MAX_CHARACTERS = 100_000
ENGINE_ERROR_RULE = "engine.error"
MEASURED_NORMAL = "measured_normal"
NORMAL_READING = "normal_reading"
# Statuses whose self-care topic is still worth answering ("will my skin peel?").
TOPIC_STATUSES = frozenset({ASSERTED, "question", "hypothetical"})

_HTML_TAG = re.compile(r"<[^<>]{0,200}>")
# spaCy's tokenizer strips affixes one at a time, so a very long run without spaces (a wall of
# "?!?!" or emoji) costs quadratic time; such runs are cut every LONG_RUN characters.
LONG_RUN = 48
_LONG_RUN = re.compile(r"\S{" + str(LONG_RUN + 1) + ",}")
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff\ufffd]")


def clean_text(value: Any) -> str:
    """Return ``value`` as text of the same length with markup and control characters blanked.

    Keeping the length keeps every character offset valid in the patient's original message.
    """
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", errors="replace")
    text = value if isinstance(value, str) else str(value)
    text = text[:MAX_CHARACTERS]
    text = _HTML_TAG.sub(lambda match: " " * len(match.group(0)), text)
    text = _UNPRINTABLE.sub(" ", text)
    return _LONG_RUN.sub(_cut_run, text)


def _cut_run(match: re.Match[str]) -> str:
    """Blank every LONG_RUN-th character of a run (the length stays the same)."""
    run = match.group(0)
    return "".join(" " if index % LONG_RUN == LONG_RUN - 1 else char for index, char in enumerate(run))


def lower_same_length(text: str) -> str:
    """Lower-case ``text`` without changing its length (a few characters grow when lowered)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(char.lower() if len(char.lower()) == 1 else char for char in text)


def clean_days(value: Any) -> Optional[int]:
    """Return whole days since the treatment, or None for anything that is not a sensible number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if math.isnan(number) or math.isinf(number) or number < 0:
        return None
    return int(number)


@dataclass(frozen=True, eq=False)
class Candidate:
    """A symptom mention before its context is judged."""

    rule: Rule
    start: int
    end: int
    head: int


class TriageEngine:
    """Apply the configured rules to messages."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.config: TriageConfig = pipeline.config
        self.rules: Dict[str, Rule] = {rule.id: rule for rule in self.config.rules}
        self.temperatures = TemperatureReader(self.config.temperature)
        self.durations = DurationReader(self.config.durations)
        temperature = self.config.temperature
        # A reading is a measurement the patient made, so "is 38.5 a fever?" still reports it.
        self.temperature_rule = Rule(
            id=str(temperature["rule"]), category="fever", level=Level.URGENT, question_is_report=True
        )
        self.normal_rule = str(temperature["normal_rule"])
        self.measured_rules = frozenset(temperature["measured_rules"]) | {self.temperature_rule.id}
        # Self-care topic of every rule id a finding can carry (base, escalated and prolonged).
        self.topics: Dict[str, str] = {}
        for rule in self.config.rules:
            if rule.topic:
                self.topics[rule.id] = rule.topic
                if rule.escalate:
                    self.topics[rule.escalate.rule] = rule.topic
                limit = self.config.course.get(rule.category)
                if limit:
                    self.topics[limit.rule] = rule.topic
        self.escalation_words = {
            rule.id: (pipeline.norms(rule.escalate.modifiers), pipeline.norms(rule.escalate.intensifiers))
            for rule in self.config.rules
            if rule.escalate
        }

    # ------------------------------------------------------------------ public
    def assess(self, text: Any, days_since: Any = None, procedure: Any = None) -> TriageResult:
        """Return the triage result for one message (see :func:`bot.triage.assess`)."""
        original = clean_text(text)
        days = clean_days(days_since)
        if not original.strip():
            return TriageResult(days_since=days)
        lowered = lower_same_length(original)
        doc = self.pipeline.parse(lowered)
        matches = self.pipeline.matches(doc)
        context = MessageContext(doc, self.pipeline, matches)
        candidates = self._resolve(self._supported(doc, self._candidates(doc, matches, context), context))
        readings = self.temperatures.read(lowered, lambda offset: self._sentence_text(doc, offset))
        fever_readings, normal_readings = self._reading_candidates(doc, readings)
        candidates = self._resolve(candidates + fever_readings)
        days = longest(self.durations.read(lowered), days)
        course = self.config.course_for(procedure)
        findings: List[Finding] = []
        for candidate in candidates:
            status = context.status(candidate.start, candidate.end, candidate.head, candidate.rule)
            finding = self._finding(doc, original, candidate, status)
            if status == ASSERTED:
                finding = self._escalate(finding, candidate, context, days, course)
            findings.append(finding)
        if normal_readings and not fever_readings:
            findings = [
                replace(finding, status=MEASURED_NORMAL)
                if finding.status == ASSERTED and finding.rule in self.measured_rules
                else finding
                for finding in findings
            ]
        findings.extend(self._normal_reading_findings(original, normal_readings))
        asserted = [finding for finding in findings if finding.status == ASSERTED]
        asserted.extend(self._combinations(original, asserted))
        return self._result(findings, asserted, days)

    # ------------------------------------------------------------------ candidates
    @staticmethod
    def _sentence_text(doc: Doc, offset: int) -> str:
        span = doc.char_span(offset, offset + 1, alignment_mode="expand")
        if span is None or len(span) == 0:
            return doc.text
        return span[0].sent.text

    def _candidates(self, doc: Doc, matches: Sequence[Match], context: MessageContext) -> List[Candidate]:
        masked: Set[int] = {
            index for match in matches if match.kind == MASK for index in range(match.start, match.end)
        }
        candidates = []
        for match in matches:
            if match.kind not in (RULE, NEAR):
                continue
            if any(index in masked for index in range(match.start, match.end)):
                continue
            if match.kind == NEAR and not context.same_clause(match.start, match.end - 1):
                continue
            candidates.append(Candidate(self.rules[match.name], match.start, match.end, match.head))
        return candidates

    @staticmethod
    def _supported(doc: Doc, candidates: Sequence[Candidate], context: MessageContext) -> List[Candidate]:
        """Drop mentions whose rule needs another reported symptom in the same sentence, and lacks it."""
        kept = []
        for candidate in candidates:
            required = candidate.rule.requires_in_sentence
            sentence = doc[candidate.head].sent.start
            if not required or any(
                other.rule.id in required
                and doc[other.head].sent.start == sentence
                and context.status(other.start, other.end, other.head, other.rule) == ASSERTED
                for other in candidates
            ):
                kept.append(candidate)
        return kept

    def _reading_candidates(
        self, doc: Doc, readings: Sequence[Reading]
    ) -> Tuple[List[Candidate], List[Reading]]:
        fevers = []
        normals = []
        for reading in readings:
            if not reading.fever:
                normals.append(reading)
                continue
            span = doc.char_span(reading.start, reading.end, alignment_mode="expand")
            if span is None or len(span) == 0:
                continue
            fevers.append(Candidate(self.temperature_rule, span.start, span.end, span.start))
        return fevers, normals

    @staticmethod
    def _resolve(candidates: Sequence[Candidate]) -> List[Candidate]:
        """Keep the most severe, then longest, of mentions that share tokens ("cold sore" over "sore")."""
        unique = {(item.rule.id, item.start, item.end): item for item in candidates}
        ordered = sorted(
            unique.values(),
            key=lambda item: (-item.rule.level.rank, -(item.end - item.start), item.start, item.rule.id),
        )
        taken: Set[int] = set()
        kept = []
        for candidate in ordered:
            tokens = set(range(candidate.start, candidate.end))
            if tokens & taken:
                continue
            taken |= tokens
            kept.append(candidate)
        return sorted(kept, key=lambda item: (item.start, item.end))

    # ------------------------------------------------------------------ findings
    @staticmethod
    def _finding(doc: Doc, original: str, candidate: Candidate, status: str) -> Finding:
        start = doc[candidate.start].idx
        last = doc[candidate.end - 1]
        end = last.idx + len(last.text)
        rule = candidate.rule
        return Finding(rule.category, rule.level, original[start:end], start, end, rule.id, status)

    def _escalate(
        self,
        finding: Finding,
        candidate: Candidate,
        context: MessageContext,
        days: Optional[int],
        course: CourseLimits,
    ) -> Finding:
        rule = candidate.rule
        if rule.escalate and rule.escalate.level > finding.level:
            modifiers, intensifiers = self.escalation_words[rule.id]
            window = rule.escalate.window
            if context.modifier_near(candidate.start, candidate.end, modifiers, intensifiers, window):
                return replace(finding, level=rule.escalate.level, rule=rule.escalate.rule)
        limit = course.get(rule.category)
        if limit and days is not None and days >= limit.routine_from_day and finding.level < Level.ROUTINE:
            return replace(finding, level=Level.ROUTINE, rule=limit.rule)
        return finding

    def _normal_reading_findings(self, original: str, readings: Sequence[Reading]) -> List[Finding]:
        return [
            Finding(
                "fever",
                Level.NONE,
                original[reading.start : reading.end],
                reading.start,
                reading.end,
                self.normal_rule,
                NORMAL_READING,
            )
            for reading in readings
        ]

    def _combinations(self, original: str, asserted: Sequence[Finding]) -> List[Finding]:
        added = []
        for combination in self.config.combinations:
            parts = []
            for group in combination.all_of:
                part = next((finding for finding in asserted if finding.rule in group), None)
                if part is None:
                    break
                parts.append(part)
            else:
                start = min(part.start for part in parts)
                end = max(part.end for part in parts)
                added.append(
                    Finding(
                        combination.category,
                        combination.level,
                        original[start:end],
                        start,
                        end,
                        combination.id,
                    )
                )
        return added

    def _result(
        self, findings: Sequence[Finding], asserted: Sequence[Finding], days: Optional[int]
    ) -> TriageResult:
        topics = {
            self.topics[finding.rule]
            for finding in findings
            if finding.status in TOPIC_STATUSES and finding.rule in self.topics
        }
        level = Level.NONE
        rule = ""
        for finding in sorted(asserted, key=lambda item: item.start):
            if finding.level > level:
                level, rule = finding.level, finding.rule
        negated = [finding for finding in findings if finding.status != ASSERTED]
        return TriageResult(
            level=level,
            findings=sorted(asserted, key=lambda item: (item.start, item.end)),
            negated=sorted(negated, key=lambda item: (item.start, item.end)),
            rule=rule,
            topics=topics,
            days_since=days,
        )


@lru_cache(maxsize=1)
def default_engine() -> TriageEngine:
    """Return the engine for the packaged patterns, built on first use."""
    return TriageEngine(default_pipeline())


def assess(text: Any, days_since: Any = None, procedure: Any = None) -> TriageResult:
    """Triage one patient message; never raises.

    Args:
        text: the patient's message (other types, bytes and None are tolerated).
        days_since: whole days since the treatment, when the conversation knows it.
        procedure: the treatment (id or any spelling from ``knowledge/procedures.yml``), when
            known; it decides the course (from which day a lasting symptom is routine).

    Returns:
        The level, with the findings and the rule that decided it. Should the engine itself
        fail, the result is ``urgent`` with rule ``engine.error`` so that a person reads the
        message instead of it passing unseen.
    """
    try:
        return default_engine().assess(text, days_since, procedure)
    except Exception:  # noqa: BLE001 - a safety layer must answer; the error is logged in full
        logger.exception("triage engine failed; escalating the message for human review")
        return TriageResult(level=Level.URGENT, rule=ENGINE_ERROR_RULE, days_since=clean_days(days_since))
