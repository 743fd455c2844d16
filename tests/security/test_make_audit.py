"""``make audit``: with the advisory service unreachable it fails and says so, never an all-clear."""

from __future__ import annotations

import os
import subprocess
from typing import Dict

import pytest

from bot.settings import PROJECT_ROOT

UNREACHABLE = "http://127.0.0.1:9"  # the discard port: nothing listens there
PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy", "ALL_PROXY", "all_proxy")


def make(*targets: str, env: Dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", *targets],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.fixture(scope="module")
def audit_tool() -> None:
    """pip-audit in its own venv (``make audit-tool``), installed from the package index once."""
    result = make("audit-tool", env=dict(os.environ))
    if result.returncode != 0:
        reason = f"cannot install pip-audit: {result.stderr.strip()[-300:]}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def test_make_audit_fails_and_says_why_when_the_advisory_service_is_unreachable(audit_tool):
    env = {name: value for name, value in os.environ.items() if name.upper() != "NO_PROXY"}
    env.update({name: UNREACHABLE for name in PROXY_VARIABLES})
    result = make("audit", env=env)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "NOT CHECKED" in result.stderr and "not an all-clear" in result.stderr
    assert "127.0.0.1" in result.stderr  # the reason names what could not be reached
    assert "No known vulnerabilities" not in output


def test_make_test_does_not_run_the_audit():
    result = make("-n", "test", env=dict(os.environ))
    assert "audit" not in result.stdout
