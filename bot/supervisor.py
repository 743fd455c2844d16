"""Run several servers as one process group: prefixed logs, health waits, clean shutdown.

``make run`` must behave like one program: Ctrl-C stops everything, a crashed server
stops the rest (rather than leaving a half-working assistant), and the URLs are only
printed once every server answers.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, TextIO


@dataclass
class Service:
    """One server to start: its command, a health URL, and a log prefix."""

    name: str
    command: Sequence[str]
    health_url: str
    env: Dict[str, str] = field(default_factory=dict)
    process: Optional[subprocess.Popen[bytes]] = None


def _pump(prefix: str, stream: TextIO | None, out: TextIO) -> None:
    if stream is None:
        return
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip() if isinstance(raw, bytes) else str(raw).rstrip()
        out.write(f"[{prefix}] {line}\n")
        out.flush()


def is_up(url: str, timeout: float = 2.0) -> bool:
    """Return True when ``url`` answers with any HTTP status below 500."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status) < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (urllib.error.URLError, OSError):
        return False


class Supervisor:
    """Start services, wait for health, relay logs, stop them all together."""

    def __init__(self, services: List[Service], cwd: str, out: TextIO = sys.stdout) -> None:
        self.services = services
        self.cwd = cwd
        self.out = out
        self._stopping = False

    def start(self) -> None:
        """Start every service in its own session so the whole tree can be signalled."""
        for service in self.services:
            env = {**os.environ, **service.env}
            service.process = subprocess.Popen(
                list(service.command),
                cwd=self.cwd,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            threading.Thread(
                target=_pump, args=(service.name, service.process.stdout, self.out), daemon=True
            ).start()

    def wait_until_up(self, timeout: float) -> bool:
        """Wait for every health URL; False if a service died or time ran out."""
        deadline = time.monotonic() + timeout
        pending = list(self.services)
        while pending and time.monotonic() < deadline:
            if self.crashed():
                return False
            pending = [s for s in pending if not is_up(s.health_url)]
            if pending:
                time.sleep(1.0)
        return not pending

    def crashed(self) -> Optional[Service]:
        """Return a service whose process has exited, if any."""
        for service in self.services:
            if service.process is not None and service.process.poll() is not None:
                return service
        return None

    def stop(self, grace: float = 15.0) -> None:
        """Send SIGTERM to every process group, then SIGKILL whatever is left."""
        if self._stopping:
            return
        self._stopping = True
        for service in self.services:
            _signal_group(service, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for service in self.services:
            if service.process is None:
                continue
            try:
                service.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                _signal_group(service, signal.SIGKILL)
                service.process.wait()

    def run_until_stopped(self) -> int:
        """Block until a signal or a crash; return the exit code for the whole group."""
        stop = threading.Event()

        def on_signal(signum: int, frame: object) -> None:
            stop.set()

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        code = 0
        while not stop.wait(0.5):
            dead = self.crashed()
            if dead is not None and dead.process is not None:
                self.out.write(
                    f"[aftercare] {dead.name} exited with code {dead.process.returncode}; stopping.\n"
                )
                code = 1
                break
        self.stop()
        return code


def _signal_group(service: Service, signum: int) -> None:
    if service.process is None or service.process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(service.process.pid, signum)
