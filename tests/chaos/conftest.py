"""The chaos suite's fixtures: one ``aftercare run`` for the session, and the table of results."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, List

import pytest

from tests.chaos.faults import MemoryWatchdog
from tests.chaos.report import Row, format_table, report_path, write_report
from tests.chaos.stack import ChaosStack, running_chaos_stack

ROWS = pytest.StashKey[List[Row]]()


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


@pytest.fixture
def stack(chaos_stack: ChaosStack) -> ChaosStack:
    """The stack, all servers up (restarted by the suite if the previous fault left it dead)."""
    chaos_stack.ensure_up()
    return chaos_stack


@pytest.fixture
def record(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
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
