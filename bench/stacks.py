"""Start and stop the two assistants under test, each on fresh loopback ports and its own data.

- **ours**: ``python -m bot.cli run --no-train``, exactly what ``make run`` starts after
  installing and training (Rasa through our launcher, the action server, the reconciler,
  the dashboard), pointed at a fresh SQLite database under ``var/bench/``.
- **stock**: plain ``rasa run --enable-api`` and ``rasa run actions`` (our actions package),
  Rasa's stock ``rest`` channel, Rasa's ``SQL`` tracker store on a SQLite file, and the
  default (in-memory) lock store.

Both get the same API token (stock's ``rest`` channel ignores the ``?token=``). Processes
are found through ``/proc`` as the launched process and its descendants, named by their
command line, so peak RSS (``VmHWM``) can be reported per process.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from bot.settings import Settings
from bot.training import QUIET_ENV

CHILD_ENV = {**QUIET_ENV, "PYTHONUNBUFFERED": "1", "PYTHONWARNINGS": "ignore", "SANIC_HOST": "127.0.0.1"}
STOP_GRACE_S = 15.0
# `aftercare run` gives up after 300 s by default; a busy shared machine can take longer to load.
STARTUP_TIMEOUT_S = 900
RASA_UP = "Rasa server is up and running."


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def process_name(cmdline: List[str]) -> str:
    """A short name for one of the stack's processes, from its command line."""
    line = " ".join(cmdline)
    for marker, name in (
        ("bot.launch.rasa_server", "rasa"),
        ("bot.launch.action_server", "actions"),
        ("run actions", "actions"),
        (" dashboard", "dashboard"),
        (" reconcile", "reconciler"),
        ("bot.cli run", "supervisor"),
        ("rasa run", "rasa"),
        ("multiprocessing", "worker"),
    ):
        if marker in line:
            return name
    return Path(cmdline[0]).name if cmdline else "?"


def _children() -> Dict[int, List[int]]:
    tree: Dict[int, List[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            parent = int(stat[stat.rindex(")") + 2 :].split()[1])
            tree.setdefault(parent, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> List[int]:
    """``pid`` and every process below it."""
    tree, found, todo = _children(), [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(tree.get(current, []))
    return found


def memory_kb(pid: int) -> Dict[str, int]:
    """Peak and current resident memory of a process in KiB (``VmHWM``, ``VmRSS``)."""
    values: Dict[str, int] = {}
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, rest = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                values[key] = int(rest.split()[0])
    return values


@dataclass
class RunningStack:
    """One assistant under test: its processes, URL, token and where its data lives."""

    label: str
    rasa_url: str
    token: str
    var_dir: Path
    processes: List[subprocess.Popen] = field(default_factory=list)
    launched_at: float = 0.0
    # Rasa worker processes, and the log where each says it has loaded its model (ours).
    workers: int = 1
    log: Optional[Path] = None

    def workers_up(self) -> int:
        """How many Rasa workers have loaded their model (1 when there is no log to read)."""
        if self.log is None:
            return self.workers
        try:
            text = self.log.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return 0
        return text.count(RASA_UP)

    def peak_rss_mb(self) -> Dict[str, float]:
        """Peak resident memory per process name in MB (several processes of a name are summed)."""
        totals: Dict[str, float] = {}
        for process in self.processes:
            for pid in descendants(process.pid):
                with contextlib.suppress(OSError):
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
                    name = process_name([part for part in cmdline if part])
                    peak = memory_kb(pid).get("VmHWM", 0) / 1024
                    totals[name] = round(totals.get(name, 0.0) + peak, 1)
        return totals

    def alive(self) -> bool:
        return all(process.poll() is None for process in self.processes)

    def stop(self) -> None:
        """Stop every process group this stack started (SIGTERM, then SIGKILL after a grace period)."""
        for process in self.processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(max(0.1, deadline - time.monotonic()))
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _spawn(command: List[str], cwd: Path, env: Dict[str, str], log: Path) -> subprocess.Popen:
    with log.open("ab") as out:
        return subprocess.Popen(
            command, cwd=str(cwd), env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _base_env(var_dir: Path, token: str) -> Dict[str, str]:
    return {
        **os.environ,
        **CHILD_ENV,
        "AFTERCARE_VAR_DIR": str(var_dir),
        "AFTERCARE_DATABASE_URL": f"sqlite:///{var_dir / 'aftercare.db'}",
        "AFTERCARE_ENV": "development",
        "RASA_AUTH_TOKEN": token,
    }


def start_ours(root: Path, var_dir: Path, extra_env: Optional[Dict[str, str]] = None) -> RunningStack:
    """Launch ``aftercare run --no-train`` (what ``make run`` starts) on fresh ports."""
    var_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    rasa_port = free_port()
    env = {
        **_base_env(var_dir, token),
        "RASA_PORT": str(rasa_port),
        "ACTION_PORT": str(free_port()),
        "DASHBOARD_PORT": str(free_port()),
        **(extra_env or {}),
    }
    stack = RunningStack("ours", f"http://127.0.0.1:{rasa_port}", token, var_dir)
    stack.workers = Settings.from_env(env).performance.rasa_workers
    stack.log = var_dir / "run.log"
    stack.launched_at = time.perf_counter()
    stack.processes.append(
        _spawn(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "run",
                "--no-train",
                "--startup-timeout",
                str(STARTUP_TIMEOUT_S),
            ],
            root,
            env,
            var_dir / "run.log",
        )
    )
    return stack


def stock_files(var_dir: Path, action_port: int) -> Dict[str, Path]:
    """Write stock Rasa's endpoints (SQL tracker store on SQLite) and credentials (stock ``rest``)."""
    endpoints = {
        "action_endpoint": {"url": f"http://127.0.0.1:{action_port}/webhook"},
        "tracker_store": {"type": "SQL", "dialect": "sqlite", "db": str(var_dir / "aftercare.db")},
    }
    files = {"endpoints": var_dir / "endpoints.yml", "credentials": var_dir / "credentials.yml"}
    files["endpoints"].write_text(yaml.safe_dump(endpoints), encoding="utf-8")
    files["credentials"].write_text("rest:\n", encoding="utf-8")
    return files


def start_stock(root: Path, var_dir: Path, model: Path) -> RunningStack:
    """Launch plain ``rasa run`` and ``rasa run actions`` on fresh ports."""
    var_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    token = secrets.token_urlsafe(32)
    env = _base_env(var_dir, token)
    # Our actions write flags into our tables: create them in stock's database as well.
    subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        cwd=root,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    rasa_port, action_port = free_port(), free_port()
    files = stock_files(var_dir, action_port)
    python = sys.executable
    stack = RunningStack("stock", f"http://127.0.0.1:{rasa_port}", token, var_dir)
    stack.launched_at = time.perf_counter()
    stack.processes.append(
        _spawn(
            [python, "-m", "rasa", "run", "actions", "--actions", "actions", "--port", str(action_port)],
            root,
            env,
            var_dir / "actions.log",
        )
    )
    stack.processes.append(
        _spawn(
            [
                python,
                "-m",
                "rasa",
                "run",
                "--enable-api",
                "--auth-token",
                token,
                "--interface",
                "127.0.0.1",
                "--port",
                str(rasa_port),
                "--model",
                str(model),
                "--endpoints",
                str(files["endpoints"]),
                "--credentials",
                str(files["credentials"]),
            ],
            root,
            env,
            var_dir / "rasa.log",
        )
    )
    return stack
