"""The chaos table: one row per fault, printed at the end of the run and written to a file.

``make chaos`` prints it; the README reproduces it. The file is ``var/chaos-report.md``
under the project root, or the path in ``CHAOS_REPORT``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Sequence

from bot.settings import PROJECT_ROOT

MAX_DOWNTIME = 60.0
COLUMNS = (
    "fault",
    "messages sent",
    "escalations delivered",
    "flags expected/present",
    "duplicates",
    "lost",
    "max downtime",
    "notes",
)


@dataclass
class Row:
    """What one fault did to the promise: nothing lost, nothing twice, nothing down for long."""

    fault: str
    messages_sent: int = 0
    escalations_expected: int = 0
    escalations_delivered: int = 0
    flags_expected: int = 0
    flags_present: int = 0
    duplicates: int = 0
    lost: int = 0
    downtime: float = 0.0  # seconds; inf when a server never came back
    downtime_server: str = ""
    notes: List[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.lost == 0 and self.duplicates == 0 and self.downtime <= MAX_DOWNTIME

    def cells(self) -> List[str]:
        if math.isinf(self.downtime):
            down = f"never back ({self.downtime_server})"
        elif self.downtime_server:
            down = f"{self.downtime:.0f} s ({self.downtime_server})"
        else:
            down = "0 s"
        return [
            self.fault,
            str(self.messages_sent),
            f"{self.escalations_delivered}/{self.escalations_expected}",
            f"{self.flags_expected}/{self.flags_present}",
            str(self.duplicates),
            str(self.lost),
            down,
            "; ".join(self.notes),
        ]


def format_table(rows: Sequence[Row]) -> str:
    """Render the rows as a Markdown table (readable in a terminal too)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "|".join("---" for _ in COLUMNS) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row.cells()) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def report_path() -> Path:
    return Path(os.environ.get("CHAOS_REPORT") or PROJECT_ROOT / "var" / "chaos-report.md")


def write_report(rows: Sequence[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(format_table(rows), encoding="utf-8")
