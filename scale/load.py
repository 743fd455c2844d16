"""The patients: widget conversations sent through nginx, each message to a chosen replica.

A message that gets no answer (a replica died, nginx answered 502, a timeout) is sent again
with the same id, like the widget does; the inbox makes that safe. Bounded in count and time,
loopback only.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Dict, List, Optional

import aiohttp

from scale.invariants import ConversationPlan, SentMessage

SAFE_TEXTS = [
    "can I wear makeup after microneedling?",
    "how long will the redness last?",
    "my skin is peeling, can I peel it off?",
    "when can I go back to the gym?",
    "can I use retinol this week?",
    "is it ok to wash my face tonight?",
    "when can I wear sunscreen?",
    "can I go swimming?",
    "my skin feels tight and dry",
    "can I drink alcohol after the treatment?",
    "what moisturiser should I use?",
    "thank you",
    "hello",
    "when will I see results?",
    "can I shave tomorrow?",
    "how often should I have the treatment?",
    "can I use vitamin C serum?",
    "can I go in the sauna?",
    "when can I exfoliate again?",
    "ok thanks",
]
RED_FLAGS = {
    "urgent": "I have a fever",
    "emergency": "my lips and tongue are swelling up and I can't breathe properly",
}
REQUEST_TIMEOUT = 150.0  # longer than a dead replica's lock ticket (60 s) plus a turn
RETRY_WINDOW = 300.0


@dataclass
class Patient:
    """One widget session and what it sends."""

    index: int
    token: str = ""
    session_id: str = ""
    plan: Optional[ConversationPlan] = None


@dataclass
class Outcome:
    """How one message went."""

    message: SentMessage
    answered: bool = False
    attempts: int = 0
    statuses: List[str] = field(default_factory=list)
    latency: float = 0.0


def conversation_texts(index: int, length: int) -> List[SentMessage]:
    """The distinct messages of patient ``index`` (ids filled in later), with its red flags."""
    rng = random.Random(index)
    texts = rng.sample(SAFE_TEXTS, k=min(length, len(SAFE_TEXTS)))
    plan = [SentMessage("", text) for text in texts][:length]
    if index % 2 == 0:
        plan[min(3 + index % 10, length - 1)] = SentMessage("", RED_FLAGS["urgent"], "urgent")
    if index % 5 == 0 and length > 12:
        plan[12] = SentMessage("", RED_FLAGS["emergency"], "emergency")
    return plan


class Load:
    """Send conversations through nginx and record every outcome."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.session = session
        self.outcomes: List[Outcome] = []
        self.answered = 0

    async def open(self, patient: Patient) -> None:
        """Get a signed widget session (through nginx, any replica)."""
        async with self.session.post(f"{self.url}/webhooks/widget/session", json={}) as response:
            patient.token = (await response.json())["token"]
        patient.session_id = patient.token.split(".")[1]

    async def send(self, patient: Patient, message: SentMessage, replica: Optional[int]) -> Outcome:
        """Send until answered (same id every time), or the retry window closes."""
        outcome = Outcome(message)
        client_id = message.message_id.split(":", 1)[1]
        body = {"token": patient.token, "text": message.text, "id": client_id}
        headers = {} if replica is None else {"X-Scale-Replica": str(replica)}
        started = time.monotonic()
        delay = 0.5
        while time.monotonic() - started < RETRY_WINDOW:
            outcome.attempts += 1
            try:
                timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
                async with self.session.post(
                    f"{self.url}/webhooks/widget/message", json=body, headers=headers, timeout=timeout
                ) as response:
                    await response.read()
                    outcome.statuses.append(str(response.status))
                    if response.status == 200:
                        outcome.answered = True
                        break
                    if response.status < 500:
                        break  # a refusal is final
            except (aiohttp.ClientError, asyncio.TimeoutError) as error:
                outcome.statuses.append(type(error).__name__)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 8.0)
        outcome.latency = time.monotonic() - started
        self.outcomes.append(outcome)
        self.answered += 1 if outcome.answered else 0
        return outcome

    async def converse(
        self, patient: Patient, replicas: int, pinned: Optional[int] = None, pair_at: Optional[int] = None
    ) -> None:
        """Send the plan's groups in order; consecutive messages go to different replicas.

        A group of two (``pair_at``) is sent at once, one message to each replica.
        """
        assert patient.plan is not None
        step = patient.index
        for group in patient.plan.groups:
            sends: List[Awaitable[Outcome]] = []
            for message in group:
                replica = pinned if pinned is not None else step % replicas
                sends.append(self.send(patient, message, replica))
                step += 1
            await asyncio.gather(*sends)


def make_plan(patient: Patient, length: int, pair_at: Optional[int]) -> ConversationPlan:
    """Number the messages with the session's ids and group them (one pair at ``pair_at``)."""
    messages = [
        SentMessage(f"{patient.session_id}:m{patient.index:03d}x{n:03d}", m.text, m.red_flag)
        for n, m in enumerate(conversation_texts(patient.index, length))
    ]
    groups: List[List[SentMessage]] = []
    n = 0
    while n < len(messages):
        if pair_at is not None and n == pair_at and n + 1 < len(messages):
            groups.append(messages[n : n + 2])
            n += 2
        else:
            groups.append([messages[n]])
            n += 1
    return ConversationPlan(f"widget:{patient.session_id}", groups)


async def run_phase(
    url: str,
    first_index: int,
    conversations: int,
    length: int,
    replicas: int,
    pinned: Optional[int] = None,
    pair_at: Optional[int] = None,
    on_progress: Optional[Callable[[int], Awaitable[None]]] = None,
) -> Dict[str, object]:
    """Run ``conversations`` patients at once; return their plans, outcomes and the wall time."""
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        load = Load(url, session)
        patients = [Patient(first_index + i) for i in range(conversations)]
        for patient in patients:
            await load.open(patient)
            patient.plan = make_plan(patient, length, pair_at)
        watcher = None
        if on_progress is not None:

            async def watch() -> None:
                while True:
                    await on_progress(load.answered)
                    await asyncio.sleep(0.5)

            watcher = asyncio.ensure_future(watch())
        started = time.monotonic()
        await asyncio.gather(*(load.converse(p, replicas, pinned, pair_at) for p in patients))
        elapsed = time.monotonic() - started
        if watcher is not None:
            watcher.cancel()
    return {"plans": [p.plan for p in patients], "outcomes": load.outcomes, "seconds": elapsed}
