"""Admit ordinary turns a few at a time; a red flag goes straight in (issue 15).

Rasa's server starts every incoming message at once and interleaves them on one event
loop: under load, 50 turns share the CPU and a turn that awaits the action server goes to
the back of the queue again, so an escalation finished when everyone's did. The gate lets
at most ``capacity`` ordinary turns run at a time, in arrival order; a message the triage
rules judge urgent or emergency (the same engine the SafetyPolicy uses, a fraction of a
millisecond) is admitted at once, whatever is running or waiting. Throughput is the same
(the loop is busy either way); what changes is who waits. Triage failing here only makes
the message urgent for scheduling: the reply is still the SafetyPolicy's.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Callable, List, Tuple

logger = logging.getLogger(__name__)

DEFAULT_CAPACITY = 4


def is_red_flag(text: str) -> bool:
    """Tell whether the triage rules see an urgent or emergency red flag in ``text``."""
    from bot.triage import Level, assess

    try:
        return assess(text).level >= Level.URGENT
    except Exception:  # noqa: BLE001 - unsure: schedule it first, like a red flag
        return True


class TurnGate:
    """At most ``capacity`` ordinary turns at once, first come first served; red flags never wait."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self.active = 0
        self._waiting: List[Tuple[int, asyncio.Future]] = []
        self._order = itertools.count()

    @property
    def waiting(self) -> int:
        return sum(1 for _, future in self._waiting if not future.done())

    @asynccontextmanager
    async def turn(self, urgent: bool) -> AsyncIterator[None]:
        """Hold a place for one turn; urgent turns are admitted at once."""
        await self._enter(urgent)
        try:
            yield
        finally:
            self._leave()

    async def _enter(self, urgent: bool) -> None:
        if urgent or (self.active < self.capacity and not self.waiting):
            self.active += 1
            return
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        heapq.heappush(self._waiting, (next(self._order), future))
        try:
            await future  # _leave hands its place over: ``active`` already counts us
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():
                self._leave()  # admitted just as we were cancelled: pass the place on
            raise

    def _leave(self) -> None:
        if self.active > self.capacity:  # a red flag went in over capacity: give its place back
            self.active -= 1
            return
        while self._waiting:
            _, future = heapq.heappop(self._waiting)
            if not future.done():
                future.set_result(None)
                return
        self.active -= 1


def gate_agent_messages(capacity: int, judge: Callable[[str], bool] = is_red_flag) -> None:
    """Make ``Agent.handle_message`` pass through one gate per event loop."""
    from rasa.core.agent import Agent

    handle_message = Agent.handle_message
    gates: dict = {}

    async def gated(self: Any, message: Any) -> Any:
        loop = asyncio.get_running_loop()
        gate = gates.get(id(loop))
        if gate is None:
            gate = gates[id(loop)] = TurnGate(capacity)
        async with gate.turn(judge(getattr(message, "text", None) or "")):
            return await handle_message(self, message)

    Agent.handle_message = gated
