"""axe-core in Debian's Chromium: find the script, inject it, and report WCAG 2.1 A/AA violations.

axe-core comes from the npm registry, pinned in ``package.json`` / ``package-lock.json`` and
installed into ``node_modules/`` by ``make test`` (``npm ci``); nothing is downloaded by the
browser. Like Chromium, a missing axe-core skips these tests locally and fails them in CI.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from bot.settings import PROJECT_ROOT

AXE_SCRIPT = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


def pinned_axe_version() -> str:
    """The exact axe-core version ``package.json`` pins (a range would make the check drift)."""
    manifest = json.loads((PROJECT_ROOT / "package.json").read_text(encoding="utf-8"))
    return str(manifest["devDependencies"]["axe-core"])


def require_axe() -> Path:
    """Return axe.min.js; skip (locally) or fail (in CI) when ``npm ci`` has not installed it."""
    if AXE_SCRIPT.is_file():
        return AXE_SCRIPT
    reason = f"{AXE_SCRIPT} missing; run: npm ci --ignore-scripts (make test does)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"accessibility checks must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def axe_violations(page: Any, include: Optional[str] = None) -> List[Dict[str, Any]]:
    """Run axe-core on ``page`` (or the ``include`` selector) and return its WCAG 2.1 A/AA violations."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(require_axe()))
    result = page.evaluate(
        """([include, tags]) => axe.run(include ? {include: [include]} : document,
               {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})""",
        [include, list(WCAG_TAGS)],
    )
    return list(result["violations"])


def describe(violations: List[Dict[str, Any]]) -> str:
    """One readable line per violated rule and offending element, for assertion messages."""
    lines = []
    for violation in violations:
        for node in violation["nodes"]:
            lines.append(f"{violation['id']} ({violation['impact']}): {node['target']} {node['html'][:160]}")
    return "\n".join(lines)
