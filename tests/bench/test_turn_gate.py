"""The turn gate: ordinary turns a few at a time in arrival order, red flags at once."""

from __future__ import annotations

import asyncio
from typing import List

import pytest

from bot.launch.turn_gate import TurnGate, is_red_flag


async def _turn(gate: TurnGate, name: str, urgent: bool, log: List[str], release: asyncio.Event) -> None:
    async with gate.turn(urgent):
        log.append(f"start {name}")
        await release.wait()
        log.append(f"end {name}")


def test_ordinary_turns_wait_in_order_and_a_red_flag_goes_straight_in():
    async def scenario() -> List[str]:
        gate, log, release = TurnGate(capacity=2), [], asyncio.Event()
        tasks = [asyncio.create_task(_turn(gate, f"o{i}", False, log, release)) for i in range(4)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert log == ["start o0", "start o1"]
        assert gate.waiting == 2
        tasks.append(asyncio.create_task(_turn(gate, "red", True, log, release)))
        await asyncio.sleep(0)
        assert log[-1] == "start red"  # admitted over capacity, before the waiting o2 and o3
        release.set()
        await asyncio.gather(*tasks)
        assert gate.active == 0 and gate.waiting == 0
        return log

    log = asyncio.run(scenario())
    starts = [entry for entry in log if entry.startswith("start")]
    assert starts == ["start o0", "start o1", "start red", "start o2", "start o3"]


def test_a_red_flag_over_capacity_gives_its_place_back():
    async def scenario() -> None:
        gate, log = TurnGate(capacity=1), []
        hold, red_done = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(_turn(gate, "o0", False, log, hold))
        await asyncio.sleep(0)
        waiting = [asyncio.create_task(_turn(gate, f"o{i}", False, log, hold)) for i in (1, 2)]
        red = asyncio.create_task(_turn(gate, "red", True, log, red_done))
        await asyncio.sleep(0)
        red_done.set()
        await red
        assert gate.active == 1  # back to capacity: o1 did not get the red flag's extra place
        assert "start o1" not in log
        hold.set()
        await asyncio.gather(first, *waiting)
        assert gate.active == 0

    asyncio.run(scenario())


def test_a_cancelled_waiter_does_not_leak_a_place():
    async def scenario() -> None:
        gate, log, release = TurnGate(capacity=1), [], asyncio.Event()
        first = asyncio.create_task(_turn(gate, "a", False, log, release))
        await asyncio.sleep(0)
        second = asyncio.create_task(_turn(gate, "b", False, log, release))
        await asyncio.sleep(0)
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        third = asyncio.create_task(_turn(gate, "c", False, log, release))
        release.set()
        await asyncio.gather(first, third)
        assert "start b" not in log and "end c" in log
        assert gate.active == 0

    asyncio.run(scenario())


def test_capacity_must_be_positive():
    with pytest.raises(ValueError):
        TurnGate(capacity=0)


@pytest.mark.parametrize(
    ("text", "red"),
    [
        ("I have a fever of 39 and it really hurts", True),
        ("my lips are swelling and I can't breathe", True),
        ("is it normal that my face is peeling?", False),
        ("thanks", False),
    ],
)
def test_the_gate_uses_the_triage_rules_to_spot_red_flags(text, red):
    assert is_red_flag(text) is red
