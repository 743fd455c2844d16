"""Read the table of triage unit cases kept as data in ``cases.yml``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import yaml

CASES_FILE = Path(__file__).with_name("cases.yml")


def load_cases() -> List[Dict[str, Any]]:
    """Return every case of ``cases.yml``, each tagged with its section."""
    with open(CASES_FILE, encoding="utf-8") as handle:
        sections = yaml.safe_load(handle)["sections"]
    return [dict(case, section=name) for name, cases in sections.items() for case in cases]
