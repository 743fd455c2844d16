"""End-to-end safety check: every red-flag message of the triage set, through the running server.

The triage engine's own evaluation proves the rules; this one proves the wiring: each
message is sent as a new patient through the REST webhook, and we check that the first
reply is the escalation response of the right level and that ``triage_level`` is set.

    aftercare eval e2e --url http://localhost:5005 --token $RASA_AUTH_TOKEN
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import yaml

from bot.evaluation.common import share
from bot.names import UTTER_ESCALATE_EMERGENCY, UTTER_ESCALATE_URGENT
from bot.settings import PROJECT_ROOT
from bot.triage import Level

DEFAULT_SET = PROJECT_ROOT / "eval" / "triage_eval.yml"
ESCALATIONS = {Level.URGENT: UTTER_ESCALATE_URGENT, Level.EMERGENCY: UTTER_ESCALATE_EMERGENCY}


@dataclass
class E2EReport:
    """Counts, misses and latencies of one end-to-end run."""

    red_flags: int = 0
    escalated: int = 0
    slot_set: int = 0
    emergencies: int = 0
    emergencies_escalated: int = 0
    non_urgent: int = 0
    over_escalated: int = 0
    misses: List[str] = field(default_factory=list)
    latencies_ms: List[float] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return share(self.escalated, self.red_flags)

    @property
    def emergency_recall(self) -> float:
        return share(self.emergencies_escalated, self.emergencies)


def _response_opening(domain: Dict[str, Any], name: str) -> str:
    return str(domain["responses"][name][0]["text"]).split("{")[0][:40]


class RestClient:
    """Talk to a running Rasa server over the REST webhook and the token-protected API."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def send(self, sender: str, message: str) -> List[str]:
        body = json.dumps({"sender": sender, "message": message}).encode()
        request = urllib.request.Request(
            f"{self.url}/webhooks/rest/webhook",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return [m.get("text", "") for m in json.loads(response.read())]

    def triage_level(self, sender: str) -> Optional[str]:
        url = f"{self.url}/conversations/{sender}/tracker?token={self.token}"
        with urllib.request.urlopen(url, timeout=60) as response:
            return json.loads(response.read())["slots"].get("triage_level")


def evaluate(client: RestClient, cases: Sequence[Dict[str, Any]], domain: Dict[str, Any]) -> E2EReport:
    """Send every case as a fresh conversation and score the replies."""
    report = E2EReport()
    openings = {level: _response_opening(domain, name) for level, name in ESCALATIONS.items()}
    for case in cases:
        gold = Level.parse(case["level"])
        sender = f"e2e-{uuid.uuid4().hex[:12]}"
        message = str(case["text"])
        if case.get("days_since") is not None:
            client.send(sender, f"my treatment was {int(case['days_since'])} days ago")
        started = time.perf_counter()
        replies = client.send(sender, message)
        report.latencies_ms.append((time.perf_counter() - started) * 1000)
        first = replies[0] if replies else ""
        escalated_as = next((lvl for lvl, opening in openings.items() if first.startswith(opening)), None)
        if gold >= Level.URGENT:
            report.red_flags += 1
            ok = (
                escalated_as is not None
                and escalated_as >= min(gold, Level.URGENT)
                and (gold != Level.EMERGENCY or escalated_as == Level.EMERGENCY)
            )
            report.escalated += int(ok)
            level = client.triage_level(sender)
            report.slot_set += int(level is not None and Level.parse(level) >= Level.URGENT)
            if gold == Level.EMERGENCY:
                report.emergencies += 1
                report.emergencies_escalated += int(escalated_as == Level.EMERGENCY)
            if not ok:
                report.misses.append(f"[{gold.value}] {message!r} -> {first[:80]!r}")
        else:
            report.non_urgent += 1
            if escalated_as is not None:
                report.over_escalated += 1
                report.misses.append(f"[over, gold {gold.value}] {message!r}")
    return report


def format_report(report: E2EReport) -> str:
    """Render the figures the README reports."""
    lat = sorted(report.latencies_ms) or [0.0]
    p95 = lat[min(len(lat) - 1, int(0.95 * len(lat)))]
    lines = [
        f"red-flag messages escalated end to end: {report.escalated}/{report.red_flags}"
        f" ({report.recall:.1%})",
        f"emergencies escalated as emergency:     {report.emergencies_escalated}/{report.emergencies}"
        f" ({report.emergency_recall:.1%})",
        f"triage_level slot >= urgent:            {report.slot_set}/{report.red_flags}",
        f"non-urgent messages escalated:          {report.over_escalated}/{report.non_urgent}",
        f"reply latency per message: mean {statistics.fmean(lat):.0f} ms, p95 {p95:.0f} ms",
    ]
    if report.misses:
        lines.append("misses:")
        lines += [f"  {m}" for m in report.misses]
    return "\n".join(lines)


def load_cases(path: Path) -> List[Dict[str, Any]]:
    """Read the labelled messages of the triage evaluation set."""
    return list(yaml.safe_load(path.read_text(encoding="utf-8"))["cases"])


def main(argv: Optional[List[str]] = None) -> int:
    """Run against a server; exit 1 unless every red flag was escalated with the slot set."""
    parser = argparse.ArgumentParser(prog="aftercare eval e2e", description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://localhost:5005")
    parser.add_argument("--token", required=True, help="RASA_AUTH_TOKEN of the running server")
    parser.add_argument("--cases", type=Path, default=DEFAULT_SET)
    args = parser.parse_args(argv)
    domain = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))
    report = evaluate(RestClient(args.url, args.token), load_cases(args.cases), domain)
    print(format_report(report))
    complete = report.escalated == report.red_flags and report.slot_set == report.red_flags
    return 0 if complete else 1
