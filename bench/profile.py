"""``python -m bench.profile``: where our Rasa process spends its time under load (py-spy).

Starts our stack as ``make run`` does, waits for the first reply, then records the Rasa
server with ``py-spy record`` (collapsed stacks) while the closed-loop load generator runs,
and prints the share of samples whose stack passes through each area of interest. py-spy
is a profiling tool only (``pip install py-spy``); nothing at run time needs it.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from bench.dialogues import DIALOGUES, long_conversation
from bench.loadgen import RestClient, closed_loop, conversation
from bench.runner import wait_for_first_reply
from bench.stacks import descendants, process_name, start_ours
from bot.settings import PROJECT_ROOT

# Area -> substrings of a frame ("function (file:line)") that put a sample in it; first match wins.
AREAS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("jsonschema validation", ("jsonschema",)),
    (
        "SQL: tracker store (load, replay, save) and other queries",
        ("tracker_store.py", "sqlalchemy", "from_events"),
    ),
    ("DIET / TensorFlow", ("tensorflow", "diet_classifier", "keras")),
    ("featurizers (count vectors, regex, lexical)", ("featurizer",)),
    (
        "policies: rules, memoization, states",
        ("rule_policy", "memoization", "past_states", "states_for_tracker"),
    ),
    ("our triage and safety code", ("/bot/triage", "safety_policy", "/bot/verdict", "/bot/safety")),
    ("action server HTTP call", ("aiohttp", "endpoints.py")),
    ("garbage collection", ("gc_collect", "<gc>")),
    ("everything else (Rasa processor, Sanic, asyncio)", ("",)),
)


def rasa_pid(root_pid: int) -> Optional[int]:
    """The Rasa server's pid among the stack's processes."""
    for pid in descendants(root_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if process_name([p for p in cmdline if p]) == "rasa":
            return pid
    return None


MAIN_THREAD = "_run_module_as_main"


def shares(collapsed: str, only: str = MAIN_THREAD) -> Tuple[int, Dict[str, int], Counter]:
    """Samples in total, per area (first match along the stack, leaf first) and per leaf frame.

    Only stacks containing ``only`` count: by default the main thread, which runs the event
    loop (anything it does, even waiting on SQLite, holds up every conversation).
    """
    total = 0
    areas: Counter = Counter()
    leaves: Counter = Counter()
    for line in collapsed.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit() or only not in stack:
            continue
        count = int(count_text)
        total += count
        frames = stack.split(";")
        leaves[frames[-1]] += count
        area = next(
            (name for name, marks in AREAS for frame in reversed(frames) if any(m in frame for m in marks)),
            "other",
        )
        areas[area] += count
    return total, dict(areas), leaves


async def _load(url: str, token: str, concurrency: int, seconds: float) -> float:
    async with RestClient(url, token) as client:
        result = await closed_loop(client.send, DIALOGUES, concurrency, seconds, 100000, "profile")
    return result.replies_per_s


def _record(spy: str, pid: int, raw: Path, seconds: float) -> subprocess.Popen:
    """Start ``py-spy record`` (collapsed stacks) on ``pid`` and its children for ``seconds``."""
    command = [spy, "record", "--pid", str(pid), "--format", "raw", "--rate", "50", "--subprocesses"]
    command += ["--duration", str(int(seconds)), "--output", str(raw), "--nonblocking"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)


async def _long(url: str, token: str, start: int, length: int, conversation_id: str) -> List[float]:
    """Send messages ``start`` .. ``start + length`` of the long conversation; their latencies in ms."""
    turns = list(long_conversation(start + length))[start:]
    async with RestClient(url, token) as client:
        result = await conversation(client.send, conversation_id, turns)
    return [sample.latency_s * 1000 for sample in result.samples]


def _profile_long(spy: str, pid: int, url: str, token: str, out: Path, length: int) -> None:
    """Profile the first and the last 20 messages of one conversation ``length`` messages long."""
    window = 20
    name = "profile-long"
    for label, start in (("first", 0), ("last", length - window)):
        if start > window:
            asyncio.run(_long(url, token, window, start - window, name))  # the middle, unrecorded
        raw = out / f"rasa-long-{label}.collapsed"
        recorder = _record(spy, pid, raw, 600)
        latencies = asyncio.run(_long(url, token, start, window, name))
        recorder.send_signal(signal.SIGINT)  # py-spy writes what it has on SIGINT
        recorder.wait(timeout=60)
        total, areas, leaves = shares(raw.read_text())
        ordered = sorted(latencies)
        report(
            total,
            areas,
            leaves,
            f"messages {start + 1}-{start + window} of one conversation: median "
            f"{ordered[len(ordered) // 2]:.0f} ms",
        )


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument(
        "--long",
        type=int,
        default=0,
        help="profile the first and last 20 messages of one conversation this long",
    )
    parser.add_argument("--out", type=Path, default=PROJECT_ROOT / "var" / "bench" / "profile")
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    args.out.mkdir(parents=True, exist_ok=True)
    data = args.out / "stack"
    shutil.rmtree(data, ignore_errors=True)
    stack = start_ours(PROJECT_ROOT, data)
    try:
        asyncio.run(wait_for_first_reply(stack))
        asyncio.run(_load(stack.rasa_url, stack.token, args.concurrency, 10.0))  # warm up
        pid = rasa_pid(stack.processes[0].pid)
        if pid is None:
            raise RuntimeError("no Rasa process found")
        if args.long:
            _profile_long(spy, pid, stack.rasa_url, stack.token, args.out, args.long)
            return 0
        raw = args.out / "rasa.collapsed"
        recorder = _record(spy, pid, raw, args.seconds)
        rate = asyncio.run(_load(stack.rasa_url, stack.token, args.concurrency, args.seconds))
        recorder.wait(timeout=args.seconds + 60)
    finally:
        stack.stop()
    total, areas, leaves = shares(raw.read_text())
    report(total, areas, leaves, f"{rate:.1f} replies/s at {args.concurrency} concurrent")
    return 0


def report(total: int, areas: Dict[str, int], leaves: Counter, headline: str) -> None:
    """Print the shares of the main thread's busy samples."""
    print(f"{headline}; {total} busy samples of the event-loop thread")
    for name, count in sorted(areas.items(), key=lambda item: -item[1]):
        print(f"{100 * count / max(total, 1):5.1f} %  {name}")
    print("top leaf frames:")
    for frame, count in leaves.most_common(15):
        print(f"{100 * count / max(total, 1):5.1f} %  {frame}")


if __name__ == "__main__":
    sys.exit(main())
