"""``python -m scale``: the horizontal scale test (``make scale-test``); exit 0 only if every invariant holds.


1. one replica, then two, measure replies/s (same load, closed loop);
2. 50 conversations x 20 messages, consecutive messages of one conversation to different
   replicas (one pair sent at once, one to each), a Rasa replica and an action-server replica
   killed (SIGKILL) and restarted mid-run;
3. check every stored conversation and the flags (:mod:`scale.invariants`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List

from sqlalchemy import text

from bot.storage import make_engine
from bot.training import ensure_model
from scale.cluster import ROOT, Cluster, start_cluster
from scale.invariants import (
    AlertRow,
    ConversationPlan,
    FlagRow,
    OwedRow,
    check_conversation,
    check_flags,
)
from scale.load import run_phase
from scale.measure import Sampler

SETTLE_TIMEOUT = 120.0


def _read_database(cluster: Cluster, plans: List[ConversationPlan]) -> Dict[str, Any]:
    engine = make_engine(cluster.database_url)
    wanted = [plan.conversation_id for plan in plans]
    events: Dict[str, List[Dict[str, Any]]] = {key: [] for key in wanted}
    with engine.connect() as connection:
        rows = connection.execute(
            text("SELECT sender_id, data FROM events WHERE sender_id = ANY(:ids) ORDER BY id"),
            {"ids": wanted},
        )
        for sender_id, data in rows:
            events[sender_id].append(json.loads(data))
        flags = [
            FlagRow(*row)
            for row in connection.execute(
                text("SELECT id, conversation_id, kind, level FROM aftercare_flags")
            )
        ]
        owed = [
            OwedRow(*row)
            for row in connection.execute(
                text("SELECT conversation_id, turn_key, status, flag_id FROM aftercare_owed_flags")
            )
        ]
        alerts = [
            AlertRow(*row)
            for row in connection.execute(
                text("SELECT flag_id, channel, event, level FROM aftercare_alert_outbox")
            )
        ]
    engine.dispose()
    return {"events": events, "flags": flags, "owed": owed, "alerts": alerts}


def _wait_for_settled(cluster: Cluster) -> None:
    """The reconcilers settle owed flags after their grace period: wait for that (bounded)."""
    engine = make_engine(cluster.database_url)
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        with engine.connect() as connection:
            owed = connection.execute(text("SELECT count(*) FROM aftercare_owed_flags WHERE status = 'owed'"))
            if owed.scalar_one() == 0:
                break
        time.sleep(2)
    engine.dispose()


def _phase(
    cluster: Cluster, name: str, first: int, conversations: int, length: int, **options: Any
) -> Dict[str, Any]:
    print(f"[scale] {name}: {conversations} conversations x {length} messages", flush=True)
    result = asyncio.run(run_phase(cluster.url, first, conversations, length, len(cluster.rasa), **options))
    outcomes = result["outcomes"]
    answered = sum(1 for o in outcomes if o.answered)
    result["replies_per_s"] = answered / result["seconds"] if result["seconds"] else 0.0
    result["unanswered"] = len(outcomes) - answered
    result["retried"] = sum(1 for o in outcomes if o.attempts > 1)
    result["statuses"] = dict(Counter(status for o in outcomes for status in o.statuses))
    latencies = sorted(o.latency for o in outcomes if o.answered)
    result["p50_s"] = latencies[len(latencies) // 2] if latencies else 0.0
    result["p95_s"] = latencies[int(len(latencies) * 0.95)] if latencies else 0.0
    print(
        f"[scale] {name}: {answered}/{len(outcomes)} answered in {result['seconds']:.1f} s "
        f"({result['replies_per_s']:.1f} replies/s, p50 {result['p50_s']:.2f} s, "
        f"p95 {result['p95_s']:.2f} s, {result['retried']} retried; answers {result['statuses']})",
        flush=True,
    )
    return result


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scale")
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--messages", type=int, default=20)
    parser.add_argument("--throughput-conversations", type=int, default=20)
    parser.add_argument("--throughput-messages", type=int, default=6)
    parser.add_argument("--lock-store", choices=("atomic", "stock"), default="atomic")
    parser.add_argument("--no-kill", action="store_true", help="do not kill replicas mid-run")
    parser.add_argument("--keep", action="store_true", help="keep the logs folder")
    parser.add_argument("--json", type=Path, default=ROOT / "var" / "scale-report.json")
    args = parser.parse_args(argv)

    model = ensure_model(ROOT).path
    print(
        f"[scale] model {model.name}; starting PostgreSQL, Redis, nginx and {args.replicas} replicas",
        flush=True,
    )
    started = time.monotonic()
    cluster = start_cluster(model, args.replicas, args.lock_store)
    report: Dict[str, Any] = {"machine": {"cpus": os.cpu_count(), "python": platform.python_version()}}
    problems: List[str] = []
    plans: List[ConversationPlan] = []
    sampler = Sampler(cluster.processes(), cluster.postgres.port)
    try:
        cluster.wait_until_up(cluster.processes()[: 2 * args.replicas], timeout=600)
        report["cold_start_s"] = round(time.monotonic() - started, 1)
        print(
            f"[scale] up after {report['cold_start_s']} s: {cluster.url} (logs in {cluster.root})", flush=True
        )
        sampler.start()
        tc, tm = args.throughput_conversations, args.throughput_messages
        one = _phase(cluster, "1 replica", 1000, tc, tm, pinned=0)
        two = _phase(cluster, f"{args.replicas} replicas", 2000, tc, tm)
        report["throughput"] = {
            "replies_per_s_1": round(one["replies_per_s"], 1),
            f"replies_per_s_{args.replicas}": round(two["replies_per_s"], 1),
            "ratio": round(two["replies_per_s"] / one["replies_per_s"], 2) if one["replies_per_s"] else None,
        }
        plans += one["plans"] + two["plans"]

        total = args.conversations * args.messages
        kills = [] if args.no_kill else [(0.3, cluster.rasa[-1]), (0.6, cluster.actions[-1])]
        killed: List[str] = []

        async def on_progress(answered: int) -> None:
            while kills and answered >= kills[0][0] * total:
                _, process = kills.pop(0)
                print(f"[scale] SIGKILL {process.name} after {answered} replies; restarting it", flush=True)
                process.kill()
                process.start()
                killed.append(process.name)

        main_run = _phase(
            cluster, "main run", 0, args.conversations, args.messages, pair_at=16, on_progress=on_progress
        )
        plans += main_run["plans"]
        report["main_run"] = {
            "messages": total,
            "unanswered": main_run["unanswered"],
            "retried": main_run["retried"],
            "replies_per_s": round(main_run["replies_per_s"], 1),
            "p50_s": round(main_run["p50_s"], 2),
            "p95_s": round(main_run["p95_s"], 2),
            "killed": killed,
            "statuses": main_run["statuses"],
        }
        _wait_for_settled(cluster)
        stored = _read_database(cluster, plans)
        for plan in plans:
            problems += check_conversation(plan, stored["events"][plan.conversation_id])
        problems += check_flags(plans, stored["flags"], stored["owed"], stored["alerts"])
        unanswered = main_run["unanswered"] + one["unanswered"] + two["unanswered"]
        if unanswered:
            problems.append(f"{unanswered} message(s) never answered")
        red = [m for p in plans for m in p.messages if m.red_flag]
        report["checked"] = {
            "conversations": len(plans),
            "messages": sum(len(p.messages) for p in plans),
            "red_flags": len(red),
            "flagged_conversations": len({f.conversation_id for f in stored["flags"] if f.kind == "triage"}),
            "owed_rows": len(stored["owed"]),
            "problems": len(problems),
        }
    finally:
        sampler.stop()
        report["peak_rss_mb"] = {k: round(v) for k, v in sorted(sampler.peak_mb.items())}
        report["peak_db_connections"] = dict(sorted(sampler.peak_connections.items()))
        cluster.stop(keep_files=args.keep or bool(problems))
    for problem in problems[:50]:
        print(f"[scale] FAIL {problem}", flush=True)
    report["ok"] = not problems
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2))
    print(json.dumps(report), flush=True)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
