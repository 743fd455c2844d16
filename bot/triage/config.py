"""Load the triage vocabulary and rules from ``patterns.yml`` into typed, validated objects.

The rules are clinical content, so they live as data that a reviewer can read; this module
only checks the file's shape, so that a typo in it fails loudly at start-up, not silently later.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import yaml

from bot.knowledge.procedures import Course, Procedures, get_procedures
from bot.triage.levels import Level

PATTERNS_FILE = Path(__file__).with_name("patterns.yml")

_BOOL = "tag:yaml.org,2002:bool"


class WordsLoader(yaml.SafeLoader):
    """A safe loader for word lists: only true/false are booleans, so "no", "on" and "off" stay words.

    A key repeated in one mapping fails loudly: plain YAML keeps only the last one, which once
    silently dropped a rule's first ``near`` list.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> Dict[Any, Any]:
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise ValueError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


WordsLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
WordsLoader.add_implicit_resolver(_BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))

TokenPattern = List[Dict[str, Any]]
Expression = Union[str, TokenPattern]


@dataclass(frozen=True)
class NearSpec:
    """A symptom word and a companion word within ``window`` tokens of one clause."""

    symptom: Tuple[str, ...]
    companion: Tuple[str, ...]
    window: int
    blocked_by: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Escalation:
    """Raise a finding to ``level`` when a severity word is close to it ("very swollen")."""

    rule: str
    level: Level
    window: int
    modifiers: Tuple[str, ...]
    intensifiers: Tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One symptom rule: the words that show it, and what it means."""

    id: str
    category: str
    level: Level
    match: Tuple[Expression, ...] = ()
    near: Tuple[NearSpec, ...] = ()
    topic: Optional[str] = None
    escalate: Optional[Escalation] = None
    future_is_report: bool = False
    question_is_report: bool = False
    goal_is_hypothetical: bool = False
    requires_in_sentence: Tuple[str, ...] = ()
    negated_by: Tuple[str, ...] = ()


@dataclass(frozen=True)
class Combination:
    """A finding added when rules from every group of ``all_of`` are asserted in one message."""

    id: str
    category: str
    level: Level
    all_of: Tuple[Tuple[str, ...], ...]


@dataclass(frozen=True)
class CourseLimit:
    """The day from which a normal-course symptom should be seen by the clinic."""

    category: str
    routine_from_day: int
    rule: str


CourseLimits = Mapping[str, CourseLimit]


@dataclass(frozen=True)
class TriageConfig:
    """Everything in ``patterns.yml``, checked."""

    normalizer: Mapping[str, Any]
    context: Mapping[str, Any]
    temperature: Mapping[str, Any]
    durations: Mapping[str, Any]
    course: CourseLimits
    masks: Tuple[Expression, ...]
    combinations: Tuple[Combination, ...]
    rules: Tuple[Rule, ...]
    rule_ids: Tuple[str, ...] = field(default=())
    procedures: Optional[Procedures] = field(default=None, compare=False, repr=False)

    def course_for(self, procedure: object = None) -> CourseLimits:
        """Return the course limits for ``procedure`` (any spelling); the documented ones when unknown."""
        if self.procedures is None:
            return self.course
        return course_limits(self.procedures.course(procedure))

    def rule(self, rule_id: str) -> Rule:
        """Return the rule called ``rule_id``."""
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)


def expressions(raw: Any, where: str) -> Tuple[Expression, ...]:
    """Flatten a YAML list of phrases, lists of phrases and token patterns into expressions."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ValueError(f"{where}: expected a list, got {type(raw).__name__}")
    result: List[Expression] = []
    for item in raw:
        is_pattern = isinstance(item, list) and bool(item) and all(isinstance(token, dict) for token in item)
        if isinstance(item, str) or is_pattern:
            result.append(item)
        elif isinstance(item, list) and all(isinstance(phrase, str) for phrase in item):
            result.extend(item)
        else:
            raise ValueError(f"{where}: cannot read expression {item!r}")
    return tuple(result)


def words(raw: Any, where: str) -> Tuple[str, ...]:
    """Return a tuple of words from a YAML list of strings."""
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(isinstance(word, str) for word in raw):
        raise ValueError(f"{where}: expected a list of words")
    return tuple(raw)


def _near(raw: Any, where: str) -> Tuple[NearSpec, ...]:
    specs = []
    for index, item in enumerate(raw or []):
        label = f"{where}.near[{index}]"
        specs.append(
            NearSpec(
                symptom=words(item.get("symptom"), f"{label}.symptom"),
                companion=words(item.get("with"), f"{label}.with"),
                window=int(item.get("window", 3)),
                blocked_by=words(item.get("blocked_by"), f"{label}.blocked_by"),
            )
        )
        if not specs[-1].symptom or not specs[-1].companion:
            raise ValueError(f"{label}: needs both 'symptom' and 'with'")
    return tuple(specs)


def _escalation(raw: Optional[Mapping[str, Any]], where: str) -> Optional[Escalation]:
    if not raw:
        return None
    return Escalation(
        rule=str(raw["rule"]),
        level=Level.parse(raw["level"]),
        window=int(raw.get("window", 4)),
        modifiers=words(raw.get("modifiers"), f"{where}.modifiers"),
        intensifiers=words(raw.get("intensifiers"), f"{where}.intensifiers"),
    )


def _rule(raw: Mapping[str, Any]) -> Rule:
    rule_id = str(raw["id"])
    rule = Rule(
        id=rule_id,
        category=str(raw["category"]),
        level=Level.parse(raw["level"]),
        match=expressions(raw.get("match"), f"{rule_id}.match"),
        near=_near(raw.get("near"), rule_id),
        topic=raw.get("topic"),
        escalate=_escalation(raw.get("escalate"), f"{rule_id}.escalate"),
        future_is_report=bool(raw.get("future_is_report", False)),
        question_is_report=bool(raw.get("question_is_report", False)),
        goal_is_hypothetical=bool(raw.get("goal_is_hypothetical", False)),
        requires_in_sentence=words(raw.get("requires_in_sentence"), f"{rule_id}.requires_in_sentence"),
        negated_by=words(raw.get("negated_by"), f"{rule_id}.negated_by"),
    )
    if not rule.match and not rule.near:
        raise ValueError(f"rule {rule_id}: needs 'match' or 'near'")
    return rule


def course_limits(course: Course) -> CourseLimits:
    """Turn a course from ``knowledge/procedures.yml`` into the triage layer's limits."""
    return {
        category: CourseLimit(category, step.routine_from, step.rule) for category, step in course.items()
    }


def parse_config(raw: Mapping[str, Any], procedures: Optional[Procedures] = None) -> TriageConfig:
    """Check and convert the parsed YAML document; the course comes from ``procedures``.

    The course lives in ``knowledge/procedures.yml`` (one home with the knowledge answers);
    ``procedures`` None reads it with the configured clinic's courses.
    """
    if "course" in raw:
        raise ValueError("course: moved to knowledge/procedures.yml (one home for the treatment course)")
    if procedures is None:
        procedures = get_procedures()
    rules = tuple(_rule(item) for item in raw["rules"])
    combinations = tuple(
        Combination(
            id=str(item["id"]),
            category=str(item["category"]),
            level=Level.parse(item["level"]),
            all_of=tuple(tuple(group) for group in item["all_of"]),
        )
        for item in raw.get("combinations", [])
    )
    course = course_limits(procedures.default_course)
    temperature = raw["temperature"]
    derived_ids: List[str] = [rule.id for rule in rules]
    derived_ids += [rule.escalate.rule for rule in rules if rule.escalate]
    derived_ids += [combination.id for combination in combinations]
    derived_ids += [limit.rule for limit in course.values()]
    derived_ids += [str(temperature["rule"])]
    duplicates = sorted({rule_id for rule_id in derived_ids if derived_ids.count(rule_id) > 1})
    if duplicates:
        raise ValueError(f"duplicate rule ids: {duplicates}")
    known = set(derived_ids)
    for rule in rules:
        unknown = [rule_id for rule_id in rule.requires_in_sentence if rule_id not in known]
        if unknown:
            raise ValueError(f"rule {rule.id}: requires unknown rules {unknown}")
    for combination in combinations:
        missing = [rule_id for group in combination.all_of for rule_id in group if rule_id not in known]
        if missing:
            raise ValueError(f"combination {combination.id}: unknown rules {missing}")
    return TriageConfig(
        normalizer=raw["normalizer"],
        context=raw["context"],
        temperature=temperature,
        durations=raw["durations"],
        course=course,
        masks=expressions(raw.get("masks"), "masks"),
        combinations=combinations,
        rules=rules,
        rule_ids=tuple(derived_ids),
        procedures=procedures,
    )


def load_config(path: Optional[Path] = None, procedures: Optional[Procedures] = None) -> TriageConfig:
    """Read and check a patterns file (the packaged one by default)."""
    with open(path or PATTERNS_FILE, encoding="utf-8") as handle:
        return parse_config(yaml.load(handle, Loader=WordsLoader), procedures)


@lru_cache(maxsize=1)
def default_config() -> TriageConfig:
    """Return the packaged configuration, read once."""
    return load_config()


def phrase_list(section: Mapping[str, Any], key: str) -> Sequence[Expression]:
    """Return the expressions under ``key`` of a context section (empty when absent)."""
    return expressions(section.get(key), key)
