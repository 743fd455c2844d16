"""Judge a fault afterwards from what the patient received and what the database holds.

Per conversation: every message the patient sent is a turn in the transcript exactly once
(Rasa's ``events`` table, read directly so a down or broken Rasa cannot hide anything),
every red flag's escalation reached the patient exactly once, and every red flag is in
``aftercare_flags`` exactly once with exactly one alert per alert channel.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import sqlite3
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import DefaultDict, Dict, List, Sequence, Tuple

from bot.storage.vocabulary import ALERT_CHANNELS, LEVEL_SEVERITY
from tests.chaos.client import ESCALATIONS, PROVIDERS, Delivery, Patient, provider_texts
from tests.chaos.report import Row
from tests.chaos.stack import ChaosStack

RECOVERY_SECONDS = float(os.environ.get("CHAOS_RECOVERY_SECONDS", "120"))
# How long owed work (a replayed inbox entry, an owed flag) may take to appear after recovery.
OUTCOME_SECONDS = float(os.environ.get("CHAOS_OUTCOME_SECONDS", "60"))
TEXT_KEY = 120  # a long message is recognised by its beginning (channels may cap the rest)


@dataclass
class FaultRun:
    """One fault: when it started, and everything the patients sent while it was on."""

    name: str
    stack: ChaosStack
    started: float = field(default_factory=time.monotonic)
    deliveries: List[Delivery] = field(default_factory=list)
    other_bodies: int = 0  # malformed or oversized bodies that must not become turns
    notes: List[str] = field(default_factory=list)


def _connect(database: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=30)


def user_texts(database: Path, conversation_ids: Sequence[str]) -> Tuple[List[str], int]:
    """The conversation's user messages in order, and how many of its rows were unreadable."""
    marks = ",".join("?" for _ in conversation_ids)
    with contextlib.closing(_connect(database)) as connection:
        rows = connection.execute(
            f"SELECT data FROM events WHERE type_name = 'user' AND sender_id IN ({marks}) ORDER BY id",  # noqa: S608
            list(conversation_ids),
        ).fetchall()
    texts, unreadable = [], 0
    for (data,) in rows:
        try:
            texts.append(json.loads(data).get("text") or "")
        except (ValueError, AttributeError):
            unreadable += 1
    return texts, unreadable


def triage_flags(database: Path, conversation_ids: Sequence[str]) -> List[Tuple[int, str]]:
    """(id, level) of every triage flag of the conversation, resolved or not."""
    marks = ",".join("?" for _ in conversation_ids)
    with contextlib.closing(_connect(database)) as connection:
        return connection.execute(
            f"SELECT id, level FROM aftercare_flags WHERE kind = 'triage' AND conversation_id IN ({marks})",  # noqa: S608
            list(conversation_ids),
        ).fetchall()


def alert_counts(database: Path, flag_id: int) -> Dict[str, int]:
    """How many alerts were queued for the flag, per alert channel."""
    with contextlib.closing(_connect(database)) as connection:
        rows = connection.execute(
            "SELECT channel, count(*) FROM aftercare_alert_outbox WHERE flag_id = ? GROUP BY channel",
            [flag_id],
        ).fetchall()
    return {channel: int(count) for channel, count in rows}


@dataclass
class _Tally:
    lost: DefaultDict[str, int] = field(default_factory=lambda: defaultdict(int))
    twice: DefaultDict[str, int] = field(default_factory=lambda: defaultdict(int))
    escalations_expected: int = 0
    escalations_delivered: int = 0
    flags_expected: int = 0
    flags_present: int = 0


def _judge_patient(stack: ChaosStack, patient: Patient, deliveries: List[Delivery], tally: _Tally) -> None:
    database = stack.database_path
    texts, _ = user_texts(database, patient.conversation_ids)
    for delivery in deliveries:
        if not delivery.in_transcript:
            continue
        seen = sum(1 for text in texts if text[:TEXT_KEY] == delivery.text[:TEXT_KEY])
        if seen == 0:
            tally.lost["turns"] += 1
        tally.twice["turns"] += max(seen - 1, 0)
    red = [d for d in deliveries if d.red_flag]
    if not red:
        return
    received = provider_texts(stack, patient) if patient.channel in PROVIDERS else []
    for delivery in red:
        tally.escalations_expected += 1
        wordings = ESCALATIONS[str(delivery.red_flag)]
        if patient.channel in PROVIDERS:
            count = sum(received.count(escalation) for escalation in wordings)
        else:
            # A retried HTTP request may get the stored answer again: that is one reply, not two.
            # Reprocessing shows up as a second turn in the transcript instead.
            count = max((sum(map(answer.count, wordings)) for answer in delivery.answers), default=0)
        tally.escalations_delivered += 1 if count else 0
        tally.lost["escalations"] += 0 if count else 1
        tally.twice["escalations"] += max(count - 1, 0)
    expected_level = max((str(d.red_flag) for d in red), key=LEVEL_SEVERITY.__getitem__)
    tally.flags_expected += 1
    flags = triage_flags(database, patient.conversation_ids)
    fitting = [f for f in flags if LEVEL_SEVERITY.get(f[1], 0) >= LEVEL_SEVERITY[expected_level]]
    if not fitting:
        tally.lost["flags"] += 1
        return
    tally.flags_present += 1
    tally.twice["flags"] += max(len(flags) - 1, 0)
    for flag_id, _ in flags:
        counts = alert_counts(database, flag_id)
        for channel in ALERT_CHANNELS:
            tally.lost["alerts"] += 0 if counts.get(channel) else 1
            tally.twice["alerts"] += max(counts.get(channel, 0) - 1, 0)


def judge(run: FaultRun) -> Row:
    """Build the fault's row from the patients' side and the database's side."""
    by_patient: Dict[int, Tuple[Patient, List[Delivery]]] = {}
    for delivery in run.deliveries:
        by_patient.setdefault(id(delivery.patient), (delivery.patient, []))[1].append(delivery)
    tally = _Tally()
    for patient, deliveries in by_patient.values():
        _judge_patient(run.stack, patient, deliveries, tally)
    row = Row(
        fault=run.name,
        messages_sent=len(run.deliveries) + run.other_bodies,
        escalations_expected=tally.escalations_expected,
        escalations_delivered=tally.escalations_delivered,
        flags_expected=tally.flags_expected,
        flags_present=tally.flags_present,
        duplicates=sum(tally.twice.values()),
        lost=sum(tally.lost.values()),
        notes=list(run.notes),
    )
    row.notes += [f"lost {n} {what}" for what, n in sorted(tally.lost.items()) if n]
    row.notes += [f"twice {n} {what}" for what, n in sorted(tally.twice.items()) if n]
    errors = sum(d.server_errors for d in run.deliveries)
    if errors:
        row.notes.append(f"{errors} attempts unanswered or 5xx")
    return row


def wait_for_recovery(stack: ChaosStack, timeout: float = RECOVERY_SECONDS) -> bool:
    """Wait (bounded) until every server answers again; False at once if the supervisor is gone."""
    return stack.wait_until_up(timeout)


def settle(run: FaultRun) -> Row:
    """Wait (bounded) for owed work to show up, then judge; record downtime and restart a dead stack."""
    stack = run.stack
    wait_for_recovery(stack)
    deadline = time.monotonic() + OUTCOME_SECONDS
    row = judge(run)
    while stack.alive() and row.lost and time.monotonic() < deadline:
        time.sleep(2)
        row = judge(run)
    if stack.alive():
        time.sleep(3)  # a late second processing shows up as a duplicate
        row = judge(run)
    assert stack.poller is not None
    down, server = stack.poller.max_downtime(run.started)
    row.downtime, row.downtime_server = down, server or ""
    if not stack.alive() or stack.poller.down_now():
        row.downtime = math.inf
        row.downtime_server = ", ".join(stack.poller.down_now()) or "all"
        row.notes.append("supervisor exited" if not stack.alive() else "server still down")
    return row
