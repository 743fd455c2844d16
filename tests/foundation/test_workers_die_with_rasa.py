"""A worker Rasa forks (``SANIC_WORKERS``) dies when Rasa is killed, so a restart can listen again."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.settings import PROJECT_ROOT

# The "rasa" process: installs the hook, forks a "worker" that writes its pid and sleeps.
RASA = """
import os, sys, time
from bot.launch.rasa_server import workers_die_with_rasa
workers_die_with_rasa()
if os.fork() == 0:
    open(sys.argv[1], "w").write(str(os.getpid()))
    time.sleep(120)
    os._exit(0)
time.sleep(120)
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (it only waits to be reaped by its new parent).
    status = Path(f"/proc/{pid}/stat")
    return status.exists() and status.read_text().split()[2] != "Z"


def test_a_forked_worker_dies_with_a_killed_rasa(tmp_path: Path) -> None:
    pid_file = tmp_path / "worker.pid"
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    rasa = subprocess.Popen([sys.executable, "-c", RASA, str(pid_file)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        worker = int(pid_file.read_text())
        assert alive(worker)
        rasa.send_signal(signal.SIGKILL)
        rasa.wait(timeout=30)
        deadline = time.monotonic() + 30
        while alive(worker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(worker)
    finally:
        rasa.kill()
        if pid_file.exists() and pid_file.read_text():
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
