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
# A killed Rasa cannot answer again sooner than it can load its model, and on a loaded 2-core
# machine one cold start alone measured 45-60 s. So a server counts as "left down" when it stays
# down longer than 60 s or than this stack's own measured cold start plus 20 s, whichever is
# larger (the stack records its cold start when it first comes up). The table shows the figure.
_cold_start = [0.0]


def note_cold_start(seconds: float) -> None:
    """Remember how long this stack took to come up from nothing (the first start only)."""
    if not _cold_start[0]:
        _cold_start[0] = seconds


def allowed_downtime() -> float:
    """The longest a server may stay down after a fault before the row fails."""
    return max(MAX_DOWNTIME, _cold_start[0] + 20.0)


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
        return self.lost == 0 and self.duplicates == 0 and self.downtime <= allowed_downtime()

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
