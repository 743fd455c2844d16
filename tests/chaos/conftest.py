"""The chaos suite's fixtures: one ``aftercare run`` for the session, and the table of results."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable, Iterator, List

import pytest

from tests.chaos.faults import MemoryWatchdog
from tests.chaos.report import Row, format_table, report_path, write_report
from tests.chaos.stack import ChaosStack, running_chaos_stack

ROWS = pytest.StashKey[List[Row]]()
# On today's main every supervisor exit costs a full restart (1-3 minutes on a loaded machine).
BUDGET_SECONDS = float(os.environ.get("CHAOS_BUDGET_SECONDS", "840"))


def pytest_configure(config: pytest.Config) -> None:
    config.stash[ROWS] = []


@pytest.fixture(scope="session")
def chaos_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosStack]:
    """The whole assistant under its real supervisor, every channel on, providers faked."""
    with running_chaos_stack(tmp_path_factory.mktemp("chaos") / "var") as stack:
        watchdog = MemoryWatchdog(stack)
        watchdog.start()
        stack.watchdog = watchdog
        try:
            yield stack
        finally:
            watchdog.stop()


@pytest.fixture(scope="session")
def chaos_deadline() -> float:
    """When the suite stops starting new faults (``CHAOS_BUDGET_SECONDS``, default 14 minutes)."""
    return time.monotonic() + BUDGET_SECONDS


@pytest.fixture
def stack(
    chaos_deadline: float,
    chaos_stack: ChaosStack,
    request: pytest.FixtureRequest,
    record: Callable[[Row], Row],
) -> ChaosStack:
    """The stack, all servers up (restarted by the suite if the previous fault left it dead).

    A fault that cannot run (time budget spent, stack would not come back) still gets its
    row and fails: nothing is skipped.
    """
    problem = ""
    if time.monotonic() > chaos_deadline:
        problem = f"not run: the {BUDGET_SECONDS:.0f} s budget is spent"
    else:
        try:
            chaos_stack.ensure_up()
        except RuntimeError:
            problem = "not run: the stack did not come back up"
    if problem:
        record(Row(fault=request.node.name, lost=1, notes=[problem]))
        pytest.fail(problem)
    return chaos_stack


@pytest.fixture
def record(request: pytest.FixtureRequest) -> Callable[[Row], Row]:
    """Add a fault's row to the table (and the report file) before its assertions run."""
    rows = request.config.stash[ROWS]

    def add(row: Row) -> Row:
        rows.append(row)
        write_report(rows, report_path())
        return row

    return add


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    rows = config.stash.get(ROWS, [])
    if not rows:
        return
    terminalreporter.section("chaos: the safety promise under faults")
    terminalreporter.write(format_table(rows))
    terminalreporter.write_line(f"(also written to {report_path()})")
