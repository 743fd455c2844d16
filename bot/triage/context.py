"""Decide whether a symptom mention is a report: negation, hypotheticals and questions.

A NegEx-style reading: cues act on the symptom in their own clause only, so "no peeling but I
have a fever" still reports the fever. Uncertainty ("I think", "maybe", "not sure if") is not
negation: an uncertain report counts. A question counts as a report unless it is a general one
("will it hurt?", "does it cause fever?") with nothing suggesting the patient has the symptom now.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Dict, FrozenSet, List, Sequence, Tuple

from spacy.tokens import Doc

from bot.triage.config import Rule
from bot.triage.levels import Level
from bot.triage.pipeline import CUE, Match, Pipeline
from bot.triage.result import ANECDOTE, ASSERTED

NEGATED = "negated"
HYPOTHETICAL = "hypothetical"
QUESTION = "question"
PROCEDURAL = "procedural"

Span = Tuple[int, int]


class MessageContext:
    """Clauses, sentences and context cues of one parsed message."""

    def __init__(self, doc: Doc, pipeline: Pipeline, matches: Sequence[Match]) -> None:
        self.doc = doc
        self.pipeline = pipeline
        self.norms: List[str] = [token.norm_ for token in doc]
        self.cues: Dict[str, List[Span]] = defaultdict(list)
        for match in matches:
            if match.kind == CUE:
                self.cues[match.name].append((match.start, match.end))
        self.pseudo_tokens = self._covered(self.cues["pseudo"])
        self.embedded_tokens = self._covered(self.cues["embedded_question"])
        self.clause = self._clauses()
        self.clause_start: Dict[int, int] = {}
        self.clause_end: Dict[int, int] = {}
        for index, clause in enumerate(self.clause):
            self.clause_start.setdefault(clause, index)
            self.clause_end[clause] = index + 1
        self.sentence_end = [0] * len(doc)
        for sentence in doc.sents:
            for index in range(sentence.start, sentence.end):
                self.sentence_end[index] = sentence.end

    # ------------------------------------------------------------------ structure
    @staticmethod
    def _covered(spans: Sequence[Span]) -> FrozenSet[int]:
        return frozenset(index for start, end in spans for index in range(start, end))

    def _is_break_token(self, index: int) -> bool:
        token = self.doc[index]
        if token.is_space:
            return "\n" in token.text
        if token.text in self.pipeline.break_punct:
            return True
        return token.text == "-" and index > 0 and bool(self.doc[index - 1].whitespace_)

    def _clauses(self) -> List[int]:
        doc = self.doc
        starts = set()
        for start, _ in self.cues["break"]:
            if start not in self.pseudo_tokens:
                starts.add(start)
        for index in range(len(doc)):
            if doc[index].is_sent_start:
                starts.add(index)
            if (
                self.norms[index] == self.pipeline.and_
                and index + 1 < len(doc)
                and self.norms[index + 1] in self.pipeline.new_subjects
            ):
                starts.add(index)
        clause = 0
        result = []
        previous_break = False
        for index in range(len(doc)):
            is_break = self._is_break_token(index)
            if index in starts or is_break or previous_break:
                clause += 1
            result.append(clause)
            previous_break = is_break
        return result

    def same_clause(self, first: int, second: int) -> bool:
        """Tell whether two token indices lie in one clause."""
        return self.clause[first] == self.clause[second]

    # ------------------------------------------------------------------ negation
    def _is_particle(self, index: int) -> bool:
        if index in self.pseudo_tokens or self.norms[index] not in self.pipeline.particles:
            return False
        if self.norms[index] == self.pipeline.no and index + 1 < len(self.doc):
            return self.norms[index + 1] not in self.pipeline.answer_no_followers
        return True

    def _particle_before(self, index: int, floor: int) -> bool:
        """Tell whether a negation particle stands in the two tokens before ``index`` (from ``floor``)."""
        for position in range(max(floor, index - 2), index):
            if self.same_clause(position, index) and self._is_particle(position):
                return True
        return False

    def _in_clause_cues(self, kind: str, clause: int) -> List[Span]:
        return [span for span in self.cues[kind] if self.clause[span[0]] == clause]

    def is_negated(self, start: int, end: int, head: int, rule: Rule) -> bool:
        """Tell whether the mention at ``start:end`` (head ``head``) is denied in its clause."""
        clause = self.clause[head]
        if any(
            cue_start == end and self._closes(cue_end) for cue_start, cue_end in self.cues["answer_after"]
        ):
            return True
        if self._in_clause_cues("void", clause):
            return False
        low = max(self.clause_start[clause], head - self.pipeline.negation_window)
        # "I didn't sleep with all this pain": a determiner that presupposes the symptom shows
        # the negation is about something else.
        owned = head > 0 and self.norms[head - 1] in self.pipeline.determiners
        for position in range(low, head):
            if not owned and self._is_particle(position):
                return True
        for cue_start, cue_end in self._in_clause_cues("neg_before", clause):
            if (
                not owned
                and low <= cue_start
                and cue_end <= head
                and cue_start not in self.pseudo_tokens
                and not self._particle_before(cue_start, self.clause_start[clause])
            ):
                return True
        high = min(self.clause_end[clause], end + self.pipeline.negation_after_window)
        for cue_start, _ in self._in_clause_cues("neg_after", clause):
            if (
                end <= cue_start < high
                and cue_start not in self.pseudo_tokens
                and not self._particle_before(cue_start, end)
                and not any(
                    norm in self.pipeline.after_void_between
                    for norm in self.norms[self.clause_start[clause] : cue_start]
                )
            ):
                return True
        if rule.negated_by:
            extra = self.pipeline.norms(rule.negated_by)
            for position in range(self.clause_start[clause], self.clause_end[clause]):
                if self.norms[position] in extra and abs(position - head) <= self.pipeline.negation_window:
                    return True
        return False

    # ------------------------------------------------------------------ hypotheticals
    def _presupposed(self, end: int, head: int) -> bool:
        """Tell whether a determiner shows the patient has the symptom ("my fever", "this pain")."""
        if head == 0 or not self.same_clause(head - 1, head):
            return False
        before = self.norms[head - 1]
        if before in self.pipeline.determiners:
            return True
        if before == self.pipeline.the:
            clause = self.clause[head]
            return any(end <= start <= end + 4 for start, _ in self._in_clause_cues("persistence", clause))
        return False

    def is_procedural(self, head: int, rule: Rule) -> bool:
        """Tell whether the clause places the symptom during the treatment itself.

        Only below emergency: stinging or pin-point bleeding in the chair is the procedure, but
        fainting, swelling lips or trouble breathing during it are an emergency all the same.
        """
        return rule.level < Level.EMERGENCY and bool(self._in_clause_cues("procedural", self.clause[head]))

    def is_anecdote(self, head: int) -> bool:
        """Tell whether the mention is a story about someone else or an earlier treatment.

        All three must hold: the message asks about the patient's own risk ("could that happen
        to me?", "should I avoid it?"), the mention's sentence names another person or occasion
        ("my friend", "last time", "hers"), and its clause holds nothing present ("now",
        "still", "is"): "my friend's lips swelled after her filler, could that happen?"
        """
        if not self.cues["own_risk"]:
            return False
        sentence = self.doc[head].sent
        if not any(sentence.start <= start < sentence.end for start, _ in self.cues["anecdote_other"]):
            return False
        return not self._in_clause_cues("present", self.clause[head])

    def is_hypothetical(self, end: int, head: int, rule: Rule) -> bool:
        """Tell whether a condition, future or general talk governs the mention."""
        clause = self.clause[head]
        floor = self.clause_start[clause]
        windows = {
            "conditional": self.pipeline.hypothetical_window,
            "general": self.pipeline.hypothetical_window,
        }
        if not rule.future_is_report:
            windows["future"] = self.pipeline.future_window
        if rule.goal_is_hypothetical:
            windows["goal"] = self.pipeline.hypothetical_window
        for kind, window in windows.items():
            low = max(floor, head - window)
            for cue_start, cue_end in self._in_clause_cues(kind, clause):
                if low <= cue_start and cue_end <= head and not self._cue_overridden(cue_start, cue_end):
                    return kind == "goal" or not self._presupposed(end, head)
        return False

    def _cue_overridden(self, start: int, end: int) -> bool:
        """Tell whether a cue is part of a pseudo-negation, or directly follows one ("not sure if")."""
        if start - 1 in self.pseudo_tokens:
            return True
        overriding = self.pseudo_tokens | self.embedded_tokens
        return any(index in overriding for index in range(start, end))

    # ------------------------------------------------------------------ questions
    def _clause_opener(self, clause: int) -> int:
        """Return the index of the first token of ``clause`` after fillers ("so", "quick question")."""
        position = self.clause_start[clause]
        end = self.clause_end[clause]
        fillers = sorted(self._in_clause_cues("filler", clause))
        moved = True
        while moved and position < end:
            moved = False
            if self.doc[position].is_punct or self.doc[position].is_space:
                position += 1
                moved = True
                continue
            for start, stop in fillers:
                if start == position:
                    position = stop
                    moved = True
                    break
        return position

    def _question_kind(self, head: int) -> str:
        """Return "", "open" (a question without an opener), "general" or "future" for the clause."""
        clause = self.clause[head]
        opener = self._clause_opener(clause)
        embedded = any(start < head for start, _ in self._in_clause_cues("embedded_question", clause))
        has_mark = any(self.doc[index].text == "?" for index in range(head, self.sentence_end[head]))
        openers = {start for start, _ in self._in_clause_cues("opener", clause)}
        future = {start for start, _ in self._in_clause_cues("future_opener", clause)}
        bare = (
            opener < len(self.doc)
            and self.norms[opener] in self.pipeline.bare_openers
            and not (
                opener + 1 < len(self.doc)
                and (
                    self.norms[opener + 1] in self.pipeline.particles
                    or self.norms[opener + 1] in self.pipeline.statement_after_opener
                )
            )
        )
        if embedded:
            return "general"
        if not has_mark and not bare:
            return ""
        if opener in future:
            return "future"
        if opener in openers:
            return "general"
        return "open"

    def is_general_question(self, end: int, head: int, rule: Rule) -> bool:
        """Tell whether the mention sits in a general question rather than a report."""
        if rule.question_is_report:
            return False
        kind = self._question_kind(head)
        if kind in ("", "open"):
            return False
        clause = self.clause[head]
        general = self._in_clause_cues("general_marker", clause)
        covered = self._covered(general)
        if any(start not in covered for start, _ in self._in_clause_cues("strong_marker", clause)):
            return False
        if general:
            return True
        if self._presupposed(end, head):
            return False
        return not (kind == "general" and self._in_clause_cues("weak_marker", clause))

    # ------------------------------------------------------------------ all together
    def _closes(self, index: int) -> bool:
        """Tell whether a phrase ending before ``index`` ends its sentence or meets punctuation."""
        return (
            index >= len(self.doc)
            or index == self.sentence_end[index - 1]
            or self.doc[index].is_punct
            or self.doc[index].is_space
        )

    def is_reversed(self, end: int, head: int) -> bool:
        """Tell whether an elliptical clause later in the sentence takes a denial back ("but now I do")."""
        sentence_end = self.sentence_end[head]
        for cue_start, cue_end in self.cues["reversal"]:
            if (
                end <= cue_start
                and cue_end <= sentence_end
                and not self.same_clause(head, cue_start)
                and self._closes(cue_end)
            ):
                return True
        return False

    def status(self, start: int, end: int, head: int, rule: Rule) -> str:
        """Return how the mention counts: asserted, negated, procedural, hypothetical or question."""
        if self.is_negated(start, end, head, rule):
            return ASSERTED if self.is_reversed(end, head) else NEGATED
        if self.is_procedural(head, rule):
            return PROCEDURAL
        if self.is_hypothetical(end, head, rule):
            return HYPOTHETICAL
        if self.is_general_question(end, head, rule):
            return QUESTION
        if self.is_anecdote(head):
            return ANECDOTE
        return ASSERTED

    def modifier_near(
        self, start: int, end: int, modifiers: FrozenSet[str], intensifiers: FrozenSet[str], window: int
    ) -> bool:
        """Tell whether an un-negated severity word is close to the mention in its clause."""
        clause = self.clause[start]
        low = max(self.clause_start[clause], start - window)
        high = min(self.clause_end[clause], end + window)
        for position in range(low, high):
            if start <= position < end:
                continue
            if self.norms[position] in modifiers and not self._particle_before(position, low):
                return True
        before = start - 1
        return before >= low and self.norms[before] in intensifiers and not self._particle_before(before, low)
