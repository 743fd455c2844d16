"""What must hold after the scale test, checked on the stored conversations and flags.

Pure functions over plain data, so a tracker with a lost, duplicated, reordered or
overlapping turn can be fed in by a unit test and seen to fail.

A conversation's plan is a list of *groups*: the messages of one group were sent at the
same moment (to different replicas), so they may be stored in either order; groups are
sent one after another, so their order is fixed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence

LEVEL_SEVERITY: Mapping[str, int] = {"routine": 1, "urgent": 2, "emergency": 3}
TRIAGE_KIND = "triage"
Event = Mapping[str, Any]


@dataclass(frozen=True)
class SentMessage:
    """One message a patient sent: its id, its text, and the triage level it reports."""

    message_id: str
    text: str
    red_flag: Optional[str] = None


@dataclass
class ConversationPlan:
    """What one patient sent, in groups (see the module docstring)."""

    conversation_id: str
    groups: List[List[SentMessage]] = field(default_factory=list)

    @property
    def messages(self) -> List[SentMessage]:
        """Every message, in sending order."""
        return [message for group in self.groups for message in group]

    @property
    def highest_level(self) -> Optional[str]:
        """The worst triage level reported, if any."""
        levels = [m.red_flag for m in self.messages if m.red_flag]
        return max(levels, key=LEVEL_SEVERITY.__getitem__) if levels else None


@dataclass(frozen=True)
class FlagRow:
    """One ``aftercare_flags`` row."""

    flag_id: int
    conversation_id: str
    kind: str
    level: str


@dataclass(frozen=True)
class OwedRow:
    """One ``aftercare_owed_flags`` row."""

    conversation_id: str
    turn_key: str
    status: str
    flag_id: Optional[int]


@dataclass(frozen=True)
class AlertRow:
    """One ``aftercare_alert_outbox`` row."""

    flag_id: int
    channel: str
    event: str
    level: str


def _turns(events: Sequence[Event]) -> List[List[Event]]:
    """Split events into turns, each starting at a user event (events before the first are dropped)."""
    turns: List[List[Event]] = []
    for event in events:
        if event.get("event") == "user":
            turns.append([event])
        elif turns:
            turns[-1].append(event)
    return turns


def _escalated(turn: Sequence[Event], level: str) -> bool:
    wanted = LEVEL_SEVERITY[level]
    for event in turn:
        action = (event.get("metadata") or {}).get("utter_action") or ""
        is_escalation = event.get("event") == "bot" and action.startswith("utter_escalate_")
        if is_escalation and LEVEL_SEVERITY.get(action[len("utter_escalate_") :], 0) >= wanted:
            return True
    return False


def check_conversation(plan: ConversationPlan, events: Sequence[Event]) -> List[str]:
    """Return what is wrong with one stored conversation (empty when every invariant holds)."""
    problems: List[str] = []
    name = plan.conversation_id
    duplicates = [key for key, n in Counter(_identity(e) for e in events).items() if n > 1]
    if duplicates:
        problems.append(f"{name}: {len(duplicates)} event(s) stored more than once")
    sent = {m.message_id: m for m in plan.messages}
    turns = _turns(events)
    seen = Counter(str(turn[0].get("message_id")) for turn in turns)
    for message in plan.messages:
        if seen[message.message_id] == 0:
            problems.append(f"{name}: message {message.message_id} lost")
        elif seen[message.message_id] > 1:
            problems.append(f"{name}: message {message.message_id} stored {seen[message.message_id]} times")
    strangers = [key for key in seen if key not in sent]
    if strangers:
        problems.append(f"{name}: {len(strangers)} user message(s) nobody sent")
    problems += _order_problems(plan, [str(turn[0].get("message_id")) for turn in turns])
    problems += _turn_problems(name, turns)
    for turn in turns:
        message = sent.get(str(turn[0].get("message_id")))
        if message is None:
            continue
        if turn[0].get("text") != message.text:
            problems.append(f"{name}: message {message.message_id} stored with other text")
        if message.red_flag and not _escalated(turn, message.red_flag):
            problems.append(f"{name}: red flag {message.message_id} ({message.red_flag}) not escalated")
    return problems


def _identity(event: Event) -> str:
    return repr(sorted((str(k), repr(v)) for k, v in event.items()))


def _order_problems(plan: ConversationPlan, stored_ids: Sequence[str]) -> List[str]:
    """The stored user messages must follow the groups' order (any order inside a group)."""
    group_of = {m.message_id: index for index, group in enumerate(plan.groups) for m in group}
    positions = [group_of[key] for key in dict.fromkeys(stored_ids) if key in group_of]
    for earlier, later in zip(positions, positions[1:], strict=False):
        if later < earlier:
            return [f"{plan.conversation_id}: messages stored out of the order they were sent"]
    return []


def _turn_problems(name: str, turns: Sequence[Sequence[Event]]) -> List[str]:
    """Each turn ends listening before the next begins: two replicas never ran one patient's turns at once."""
    problems: List[str] = []
    for index, turn in enumerate(turns):
        actions = [e for e in turn if e.get("event") == "action"]
        if not actions or actions[-1].get("name") != "action_listen":
            problems.append(f"{name}: turn {index + 1} did not finish")
            continue
        if index + 1 < len(turns):
            finished = float(actions[-1].get("timestamp") or 0.0)
            started = float(turns[index + 1][0].get("timestamp") or 0.0)
            if started < finished:
                problems.append(f"{name}: turns {index + 1} and {index + 2} ran at the same time")
    return problems


def check_flags(
    plans: Iterable[ConversationPlan],
    flags: Sequence[FlagRow],
    owed: Sequence[OwedRow],
    alerts: Sequence[AlertRow],
) -> List[str]:
    """Every red-flag conversation is flagged exactly once, at its level, with nothing still owed."""
    problems: List[str] = []
    triage: Dict[str, List[FlagRow]] = defaultdict(list)
    for flag in flags:
        if flag.kind == TRIAGE_KIND:
            triage[flag.conversation_id].append(flag)
    for plan in plans:
        level = plan.highest_level
        if level is None:
            continue
        found = triage.get(plan.conversation_id, [])
        if not found:
            problems.append(f"{plan.conversation_id}: red flag never flagged for staff")
            continue
        if len(found) > 1:
            problems.append(f"{plan.conversation_id}: flagged {len(found)} times")
        if max(LEVEL_SEVERITY.get(f.level, 0) for f in found) < LEVEL_SEVERITY[level]:
            problems.append(f"{plan.conversation_id}: flagged below {level}")
    still_owed = [row for row in owed if row.status != "settled" or row.flag_id is None]
    if still_owed:
        problems.append(f"{len(still_owed)} owed flag(s) never settled")
    repeated = [key for key, n in Counter(owed_key(row) for row in owed).items() if n > 1]
    if repeated:
        problems.append(f"{len(repeated)} message(s) owe more than one flag")
    twice = [
        key for key, n in Counter((a.flag_id, a.channel, a.event, a.level) for a in alerts).items() if n > 1
    ]
    if twice:
        problems.append(f"{len(twice)} staff alert(s) queued twice")
    return problems


def owed_key(row: OwedRow) -> str:
    """The message an owed flag belongs to."""
    return f"{row.conversation_id}/{row.turn_key}"
