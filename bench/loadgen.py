"""An async closed-loop load generator for the REST webhook, bounded in time and in count.

Closed loop: each of ``concurrency`` simulated patients sends a message, waits for the
reply, then sends its next one, so the offered load adapts to the server and the figure at
saturation is what the server sustains, not what a queue absorbs. A run stops starting
messages when its time budget or its message budget is spent; messages in flight finish
(each bounded by a request timeout). Only loopback addresses are accepted.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable, Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlsplit

import aiohttp

from bench.dialogues import RED_FLAG, Dialogue, Turn, is_escalation

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
REQUEST_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Reply:
    """What one request got: the reply texts, or the error that replaced them."""

    texts: Tuple[str, ...] = ()
    error: Optional[str] = None


@dataclass(frozen=True)
class Sample:
    """One message sent: when, how long its reply took, and what kind of turn it was."""

    started: float
    latency_s: float
    kind: str
    error: Optional[str]
    escalated: bool
    position: int  # 1-based index of the message within its conversation


Send = Callable[[str, str], Awaitable[Reply]]


@dataclass
class LoadResult:
    """Every sample of one run and its wall-clock span."""

    concurrency: int
    samples: List[Sample] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def ok(self) -> List[Sample]:
        return [sample for sample in self.samples if sample.error is None]

    @property
    def errors(self) -> int:
        return len(self.samples) - len(self.ok)

    @property
    def replies_per_s(self) -> float:
        return len(self.ok) / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def error_kinds(self) -> Dict[str, int]:
        counts: Dict[str, int] = {}
        for sample in self.samples:
            if sample.error is not None:
                counts[sample.error] = counts.get(sample.error, 0) + 1
        return counts

    def red_flags(self) -> Tuple[int, int]:
        """(red-flag turns answered, of them answered with an escalation reply)."""
        answered = [s for s in self.ok if s.kind == RED_FLAG]
        return len(answered), sum(1 for s in answered if s.escalated)


def require_loopback(url: str) -> str:
    """Return ``url`` unchanged if it points at this machine; refuse anything else."""
    host = urlsplit(url).hostname or ""
    if host not in LOOPBACK_HOSTS:
        raise ValueError(f"the benchmark only talks to loopback addresses, not {host!r}")
    return url


class RestClient:
    """POST ``{"sender", "message"}`` to a Rasa REST webhook, with the API token as ``?token=``."""

    def __init__(self, base_url: str, token: str, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        self.url = require_loopback(base_url.rstrip("/")) + "/webhooks/rest/webhook"
        self.token = token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: Optional[aiohttp.ClientSession] = None

    async def __aenter__(self) -> RestClient:
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), timeout=self.timeout)
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def send(self, sender: str, message: str) -> Reply:
        """Send one message and return its reply texts, or the error (never raises)."""
        assert self._session is not None, "use RestClient as an async context manager"
        try:
            async with self._session.post(
                self.url, params={"token": self.token}, json={"sender": sender, "message": message}
            ) as response:
                body = await response.read()
                if response.status != 200:
                    return Reply(error=f"http {response.status}")
        except asyncio.TimeoutError:
            return Reply(error="timeout")
        except aiohttp.ClientError as error:
            return Reply(error=type(error).__name__)
        try:
            answer = json.loads(body)
        except ValueError:
            return Reply(error="bad json")
        if not isinstance(answer, list):
            return Reply(error="bad json")
        return Reply(tuple(str(m.get("text") or "") for m in answer if isinstance(m, dict)))


async def closed_loop(
    send: Send,
    dialogues: Sequence[Dialogue],
    concurrency: int,
    duration_s: float,
    max_messages: int,
    sender_prefix: str,
    clock: Callable[[], float] = time.perf_counter,
) -> LoadResult:
    """Run ``concurrency`` patients, each playing dialogues back to back, until a budget is spent."""
    if concurrency < 1 or max_messages < 1 or duration_s <= 0:
        raise ValueError("concurrency, max_messages and duration_s must be positive")
    if not dialogues:
        raise ValueError("no dialogues to play")
    result = LoadResult(concurrency)
    started = clock()
    deadline = started + duration_s
    budget = itertools.count()  # each patient takes a ticket before sending; tickets are the count bound

    async def patient(index: int) -> None:
        for round_ in itertools.count():
            dialogue = dialogues[(index + round_) % len(dialogues)]
            sender = f"{sender_prefix}-{index}-{round_}"
            for position, turn in enumerate(dialogue.turns, start=1):
                if clock() >= deadline or next(budget) >= max_messages:
                    return
                await _one(send, sender, turn, position, result, clock)

    await asyncio.gather(*(patient(index) for index in range(concurrency)))
    result.elapsed_s = clock() - started
    return result


async def conversation(
    send: Send, sender: str, turns: Sequence[Turn], clock: Callable[[], float] = time.perf_counter
) -> LoadResult:
    """Play ``turns`` in one conversation, one at a time (the long-conversation figure)."""
    result = LoadResult(1)
    started = clock()
    for position, turn in enumerate(turns, start=1):
        await _one(send, sender, turn, position, result, clock)
    result.elapsed_s = clock() - started
    return result


async def _one(
    send: Send, sender: str, turn: Turn, position: int, result: LoadResult, clock: Callable[[], float]
) -> None:
    began = clock()
    reply = await send(sender, turn.text)
    latency = clock() - began
    result.samples.append(
        Sample(began, latency, turn.kind, reply.error, is_escalation(reply.texts), position)
    )
