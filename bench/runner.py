"""One repetition of the benchmark against one running assistant, and its figures."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional

import aiohttp

from bench.dialogues import DIALOGUES, Turn, long_conversation
from bench.loadgen import LoadResult, RestClient, closed_loop, conversation, require_loopback
from bench.stacks import RunningStack
from bench.stats import latency_summary, median, percentile

COLD_START_TIMEOUT_S = 900.0  # as long as `aftercare run` is given (bench.stacks)


@dataclass(frozen=True)
class Plan:
    """How much load each step offers: time and message budgets, sizes of the fixed steps."""

    levels: Dict[int, float]  # concurrency -> seconds
    max_messages: Dict[int, int]  # concurrency -> message budget
    parse_messages: int
    long_length: int
    warmup_dialogues: int

    @classmethod
    def full(cls) -> Plan:
        return cls({1: 20.0, 10: 25.0, 50: 30.0}, {1: 200, 10: 1000, 50: 3000}, 100, 200, 3)

    @classmethod
    def quick(cls) -> Plan:
        """A short plan for trying the harness (figures too noisy to quote)."""
        return cls({1: 4.0, 10: 5.0, 50: 6.0}, {1: 40, 10: 200, 50: 600}, 20, 20, 1)


async def wait_for_first_reply(stack: RunningStack, timeout_s: float = COLD_START_TIMEOUT_S) -> float:
    """Seconds from launch until the REST webhook first answers a message."""
    deadline = time.perf_counter() + timeout_s
    async with RestClient(stack.rasa_url, stack.token, timeout_s=30.0) as client:
        while time.perf_counter() < deadline:
            if not stack.alive():
                raise RuntimeError(f"{stack.label}: a server exited during start-up (see {stack.var_dir})")
            reply = await client.send("bench-cold-start", "hi")
            if reply.error is None and reply.texts:
                return time.perf_counter() - stack.launched_at
            await asyncio.sleep(0.25)
    raise RuntimeError(f"{stack.label}: no reply within {timeout_s:.0f} s (see {stack.var_dir})")


async def wait_for_all_workers(stack: RunningStack, timeout_s: float = COLD_START_TIMEOUT_S) -> float:
    """Seconds until every Rasa worker has loaded its model (they load one after the other)."""
    began = time.perf_counter()
    while stack.workers_up() < stack.workers and time.perf_counter() - began < timeout_s:
        await asyncio.sleep(1.0)
    return time.perf_counter() - stack.launched_at


async def parse_latencies(stack: RunningStack, count: int) -> List[float]:
    """Sequential ``POST /model/parse`` calls (NLU only), in seconds."""
    texts = [turn.text for dialogue in DIALOGUES for turn in dialogue.turns]
    url = require_loopback(stack.rasa_url) + "/model/parse"
    latencies: List[float] = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        for index in range(count):
            began = time.perf_counter()
            async with session.post(
                url, params={"token": stack.token}, json={"text": texts[index % len(texts)]}
            ) as r:
                await r.read()
                if r.status == 200:
                    latencies.append(time.perf_counter() - began)
    return latencies


def load_figures(result: LoadResult) -> Dict[str, Any]:
    """The figures of one load level: throughput, latency overall and by turn kind, errors."""
    by_kind = {}
    for kind in sorted({sample.kind for sample in result.ok}):
        by_kind[kind] = latency_summary([s.latency_s for s in result.ok if s.kind == kind])
    answered, escalated = result.red_flags()
    return {
        "concurrency": result.concurrency,
        "messages": len(result.samples),
        "replies_per_s": round(result.replies_per_s, 2),
        "latency": latency_summary([sample.latency_s for sample in result.ok]),
        "by_kind": by_kind,
        "errors": result.errors,
        "error_kinds": result.error_kinds(),
        "red_flags_answered": answered,
        "red_flags_escalated": escalated,
    }


def long_figures(result: LoadResult) -> Dict[str, Any]:
    """1st vs last message of one long conversation (and the median of the first/last ten)."""
    ok = [sample for sample in result.samples if sample.error is None]
    if not ok:
        return {"messages": len(result.samples), "errors": result.errors}
    first, last = ok[0], ok[-1]
    head = [s.latency_s * 1000 for s in ok[:10]]
    tail = [s.latency_s * 1000 for s in ok[-10:]]
    return {
        "messages": len(result.samples),
        "errors": result.errors,
        "first_ms": round(first.latency_s * 1000, 2),
        "last_ms": round(last.latency_s * 1000, 2),
        "last_position": last.position,
        "first10_median_ms": _r(median(head)),
        "last10_median_ms": _r(median(tail)),
    }


async def measure(stack: RunningStack, plan: Plan, repetition: int) -> Dict[str, Any]:
    """Cold start, parse, the load levels and the long conversation, against ``stack``."""
    figures: Dict[str, Any] = {"cold_start_s": round(await wait_for_first_reply(stack), 2)}
    # Cold start is the first reply; the load is measured once every worker has its model.
    figures["workers"] = stack.workers
    figures["all_workers_up_s"] = round(await wait_for_all_workers(stack), 2)
    prefix = f"bench-{stack.label}-r{repetition}"
    async with RestClient(stack.rasa_url, stack.token) as client:
        for index in range(plan.warmup_dialogues):
            dialogue = DIALOGUES[index % len(DIALOGUES)]
            await conversation(client.send, f"{prefix}-warmup-{index}", dialogue.turns)
        parse = await parse_latencies(stack, plan.parse_messages)
        figures["parse"] = {
            "n": len(parse),
            "p50_ms": _r(_ms(percentile(parse, 50))),
            "p95_ms": _r(_ms(percentile(parse, 95))),
        }
        levels = {}
        for level, seconds in sorted(plan.levels.items()):
            result = await closed_loop(
                client.send, DIALOGUES, level, seconds, plan.max_messages[level], f"{prefix}-c{level}"
            )
            levels[str(level)] = load_figures(result)
        figures["levels"] = levels
        turns: List[Turn] = list(long_conversation(plan.long_length))
        figures["long_conversation"] = long_figures(await conversation(client.send, f"{prefix}-long", turns))
    figures["peak_rss_mb"] = stack.peak_rss_mb()
    return figures


def _ms(seconds: Optional[float]) -> Optional[float]:
    return None if seconds is None else seconds * 1000


def _r(value: Optional[float]) -> Optional[float]:
    return None if value is None else round(value, 2)
