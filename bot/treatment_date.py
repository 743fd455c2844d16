"""Find the treatment date in a patient's message, and derive the days since it.

The conversation stores the *date* of the treatment (slot ``treatment_date``), never a day
count: a count said on Monday is wrong by Friday, while a date gives the right count on
every later turn. Only a mention about the treatment may set it: "I was treated 3 days ago"
does, "fever since yesterday" and "peeling for 10 days" do not (they date a symptom). A
later mention about the treatment replaces the date, which is how a patient corrects it
("sorry, it was 5 days ago, not 3"). Pure functions: the caller passes ``today``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import List, Optional, Sequence, Tuple

from bot.dates import DaysMention, find_days_mentions

Span = Tuple[int, int]

INFORM_INTENT = "inform"

_TREATMENT = (
    r"(?:treat(?:ment|ments|ed)?|procedure|session|appointment|micro[\s-]?needl\w*|needling|"
    r"derma[\s-]?pen\w*|derma[\s-]?roll\w*|roller|had it|got it done|was done|it done)\b"
)
_TREATMENT_WORDS = re.compile(r"\b" + _TREATMENT, re.I)
# "since my treatment" dates the treatment, unlike "since yesterday".
_SINCE_TREATMENT = re.compile(r"since\s+(?:my\s+|the\s+|our\s+)?" + _TREATMENT, re.I)
# Words that date a symptom rather than the treatment.
_ONSET_WORDS = re.compile(
    r"\b(?:since|for|started|starting|starts|start|began|begun|begin|lasted|lasting|appeared|"
    r"came|got|getting|gotten|kept|keeps|still|became|turned)\b",
    re.I,
)
# A duration ("for 3 days", "over the past week") is how long something lasted, not a date.
_DURATION_BEFORE = re.compile(r"\b(?:since|for|past|over|during|the last|in the last)\W*$", re.I)
_DURATION_PREFIX = re.compile(r"^(?:since|for|past|over|last)\b", re.I)
_NEGATION_BEFORE = re.compile(r"(?:\bnot|\bnever|n't)\W+(?:\w+\W+)?$", re.I)
_CORRECTION_WORDS = re.compile(r"\b(?:sorry|actually|meant|mean|correction|mistake|wrong|oops)\b", re.I)
_CLAUSE_BREAK = re.compile(r"[.;!?,\n]|\b(?:and|but|so|then|while|whereas)\b", re.I)
_WORD = re.compile(r"[a-z0-9']+", re.I)


@dataclass(frozen=True)
class MessageContext:
    """What, besides the words, tells us a bare date ("3 days ago") is about the treatment."""

    intent: Optional[str] = None
    asked_for_date: bool = False
    symptom_spans: Sequence[Span] = ()


def days_since_treatment(treatment_date: date, today: date) -> int:
    """Return whole days from the treatment to ``today`` (0 on the day, never negative)."""
    return max((today - treatment_date).days, 0)


def parse_iso_date(value: object) -> Optional[date]:
    """Read a stored ``treatment_date`` slot value; ``None`` for anything unreadable."""
    try:
        return date.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def treatment_date_in(text: str, today: date, context: MessageContext = MessageContext()) -> Optional[date]:
    """Return the treatment date named in ``text``, or ``None`` when no mention is about the treatment.

    When several mentions qualify the last one wins: corrections come after what they correct.
    """
    chosen: Optional[DaysMention] = None
    for mention in sorted(find_days_mentions(text, today), key=lambda m: m.start):
        if _is_negated(text, mention) or _is_duration(text, mention):
            continue
        if _about_treatment(text, mention, context):
            chosen = mention
    return today - timedelta(days=chosen.days) if chosen is not None else None


def _is_negated(text: str, mention: DaysMention) -> bool:
    return bool(_NEGATION_BEFORE.search(text[max(0, mention.start - 20) : mention.start]))


def _is_duration(text: str, mention: DaysMention) -> bool:
    if mention.kind == "since" and _DURATION_PREFIX.match(mention.text):
        return True
    return bool(_DURATION_BEFORE.search(text[max(0, mention.start - 20) : mention.start]))


def _clause(text: str, mention: DaysMention) -> Span:
    start = 0
    for match in _CLAUSE_BREAK.finditer(text):
        if match.end() <= mention.start:
            start = match.end()
        elif match.start() >= mention.end:
            return start, match.start()
    return start, len(text)


def _distance(span: Span, mention: DaysMention) -> int:
    if span[1] <= mention.start:
        return mention.start - span[1]
    if span[0] >= mention.end:
        return span[0] - mention.end
    return 0


def _cues(text: str, clause: Span, mention: DaysMention, context: MessageContext) -> List[Tuple[int, bool]]:
    """Return (distance to the mention, is it about the treatment) for each cue in the clause."""
    cues: List[Tuple[int, bool]] = []
    for pattern, about_treatment in ((_TREATMENT_WORDS, True), (_ONSET_WORDS, False)):
        for match in pattern.finditer(text, clause[0], clause[1]):
            span = (match.start(), match.end())
            if mention.start <= span[0] and span[1] <= mention.end:
                continue  # a word inside the mention itself ("for" in "for 3 days") is not a cue
            if not about_treatment and _SINCE_TREATMENT.match(text, match.start()):
                continue
            cues.append((_distance(span, mention), about_treatment))
    for span in context.symptom_spans:
        if span[0] < clause[1] and clause[0] < span[1]:
            cues.append((_distance(span, mention), False))
    return cues


def _about_treatment(text: str, mention: DaysMention, context: MessageContext) -> bool:
    clause = _clause(text, mention)
    cues = _cues(text, clause, mention, context)
    if cues:
        nearest = min(distance for distance, _ in cues)
        # A tie is not enough to move the treatment date.
        return all(about for distance, about in cues if distance == nearest)
    if mention.kind == "day_n":  # "day 5" counts from the treatment by definition
        return True
    if context.asked_for_date or context.intent == INFORM_INTENT or _CORRECTION_WORDS.search(text):
        return True
    rest = text[: mention.start] + " " + text[mention.end :]
    return len(_WORD.findall(rest)) <= 2
