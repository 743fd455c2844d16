"""The whole assistant as ``aftercare run`` starts it, every channel on, watched by a health poller.

The chaos suite runs the real supervisor (``python -m bot.cli run --no-train``) in a child
process rather than ``tests.stack.start_stack``, because what it measures (a server that
is killed comes back, the others keep serving) is the supervisor's job. Servers are found
by the port they listen on, so the suite does not depend on how the supervisor starts them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

from bot.settings import PROJECT_ROOT
from bot.supervisor import is_up
from tests.channels.conftest import PUBLIC_URL, SECRETS
from tests.channels.fake_providers import FakeProviders
from tests.chaos.report import note_cold_start
from tests.stack import free_port

SERVERS = ("actions", "rasa", "dashboard")
START_TIMEOUT = 300.0
POLL_INTERVAL = 0.5


@dataclass
class Outage:
    """One stretch of time during which a server's health check failed."""

    server: str
    start: float
    end: Optional[float] = None  # None while it is still down


class HealthPoller(threading.Thread):
    """Poll every server's health URL and keep the outages, so downtime is measured, not guessed."""

    def __init__(self, urls: Dict[str, str]) -> None:
        super().__init__(daemon=True, name="chaos-health")
        self.urls = urls
        self.outages: List[Outage] = []
        self._open: Dict[str, Outage] = {}
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self.paused = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(POLL_INTERVAL):
            if self.paused.is_set():
                continue
            for name, url in self.urls.items():
                up = is_up(url, timeout=2.0)
                now = time.monotonic()
                with self._lock:
                    current = self._open.get(name)
                    if not up and current is None:
                        self._open[name] = outage = Outage(name, now)
                        self.outages.append(outage)
                    elif up and current is not None:
                        current.end = now
                        del self._open[name]

    def max_downtime(self, since: float, until: Optional[float] = None) -> Tuple[float, Optional[str]]:
        """Longest outage overlapping ``[since, until]`` in seconds, and the server it hit."""
        until = until or time.monotonic()
        worst, server = 0.0, None
        with self._lock:
            for outage in self.outages:
                end = outage.end if outage.end is not None else until
                length = min(end, until) - max(outage.start, since)
                if end >= since and outage.start <= until and length > worst:
                    worst, server = length, outage.server
        return worst, server

    def down_now(self) -> List[str]:
        with self._lock:
            return sorted(self._open)

    def forget_open(self) -> None:
        """Close open outages (the harness is about to restart the whole stack itself)."""
        now = time.monotonic()
        with self._lock:
            for outage in self._open.values():
                outage.end = now
            self._open.clear()

    def stop(self) -> None:
        self._stop_event.set()


@dataclass
class ChaosStack:
    """A running ``aftercare run``, its ports, its database, and the fake provider APIs."""

    var_dir: Path
    fake: FakeProviders
    ports: Dict[str, int]
    token: str
    env: Dict[str, str]
    process: Optional[subprocess.Popen[bytes]] = None
    poller: Optional[HealthPoller] = None
    restarts: int = 0
    watchdog: Any = None  # tests.chaos.faults.MemoryWatchdog, set by the fixture
    _seen_pids: Set[int] = field(default_factory=set)

    @property
    def database_path(self) -> Path:
        return self.var_dir / "aftercare.db"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database_path}"

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['rasa']}"

    @property
    def health_urls(self) -> Dict[str, str]:
        return {
            "actions": f"http://127.0.0.1:{self.ports['actions']}/health",
            "rasa": f"http://127.0.0.1:{self.ports['rasa']}/",
            "dashboard": f"http://127.0.0.1:{self.ports['dashboard']}/login",
        }

    @property
    def log_path(self) -> Path:
        return self.var_dir / "aftercare-run.log"

    def log_tail(self, chars: int = 4000) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        return ""

    def start(self) -> None:
        """Start ``aftercare run`` and wait (bounded) until every server answers."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("ab")
        launched = time.monotonic()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot.cli", "run", "--no-train"],
            cwd=str(PROJECT_ROOT),
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        if not self.wait_until_up(START_TIMEOUT):
            tail = self.log_tail()
            self.stop()
            raise RuntimeError("aftercare run did not come up:\n" + tail)
        note_cold_start(time.monotonic() - launched)
        self._remember_pids()
        if self.poller is None:
            self.poller = HealthPoller(self.health_urls)
            self.poller.start()

    def alive(self) -> bool:
        """Tell whether the supervisor process is still running (it can still bring servers back)."""
        return self.process is not None and self.process.poll() is None

    def all_up(self) -> bool:
        return all(is_up(url, timeout=2.0) for url in self.health_urls.values())

    def wait_until_up(self, timeout: float) -> bool:
        """Wait until every server answers; give up early when the supervisor has exited."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.all_up():
                return True
            if not self.alive():
                return False
            time.sleep(1.0)
        return False

    def ensure_up(self) -> None:
        """Bring the stack back for the next fault: restart it when a fault left it dead or down."""
        if self.alive() and self.wait_until_up(90):
            return
        if self.poller is not None:
            self.poller.paused.set()
        self.stop()
        if self.poller is not None:
            self.poller.forget_open()
        self.restarts += 1
        self.start()
        if self.poller is not None:
            self.poller.paused.clear()

    def server_pids(self, server: str) -> List[int]:
        """The processes listening on ``server``'s port (what ``kill -9`` of that server hits)."""
        pids = listening_pids(self.ports[server])
        self._seen_pids.update(pids)
        return pids

    def _remember_pids(self) -> None:
        for server in SERVERS:
            self.server_pids(server)

    def stop(self) -> None:
        """Stop the supervisor as Ctrl-C would, then kill whatever it left on our ports."""
        self._remember_pids()
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        for port in self.ports.values():
            for pid in listening_pids(port):
                _kill(pid)
        for pid in self._seen_pids:
            _kill(pid)  # a stopped (SIGSTOP) or orphaned server left by a fault
        self._seen_pids.clear()

    def close(self) -> None:
        if self.poller is not None:
            self.poller.stop()
        self.stop()
        self.fake.stop()


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signal.SIGCONT)
        os.kill(pid, signal.SIGKILL)


def _listening_inodes(port: int) -> Set[str]:
    inodes: Set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                local, state, inode = fields[1], fields[3], fields[9]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    inodes.add(inode)
    return inodes


def listening_pids(port: int) -> List[int]:
    """Return the pids of the processes holding a listening socket on ``port``."""
    inodes = _listening_inodes(port)
    if not inodes:
        return []
    targets = {f"socket:[{inode}]" for inode in inodes}
    pids: List[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (entry / "fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in targets:
                        pids.append(int(entry.name))
                        break
    return sorted(pids)


def rss_bytes(pid: int) -> int:
    """Resident memory of ``pid`` (0 if it is gone)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def chaos_env(var_dir: Path, fake: FakeProviders, ports: Dict[str, int], token: str) -> Dict[str, str]:
    """The environment ``aftercare run`` gets: every channel on, providers faked, fresh database."""
    return {
        **dict(os.environ),
        **SECRETS,
        "AFTERCARE_WHATSAPP_API_BASE": f"{fake.url}/graph",
        "AFTERCARE_TELEGRAM_API_BASE": f"{fake.url}/telegram",
        "AFTERCARE_TWILIO_API_BASE": f"{fake.url}/twilio",
        "AFTERCARE_PUBLIC_URL": PUBLIC_URL,
        "AFTERCARE_WIDGET_ORIGINS": "http://127.0.0.1",
        "AFTERCARE_DATABASE_URL": f"sqlite:///{var_dir / 'aftercare.db'}",
        "AFTERCARE_VAR_DIR": str(var_dir),
        "RASA_AUTH_TOKEN": token,
        "RASA_PORT": str(ports["rasa"]),
        "ACTION_PORT": str(ports["actions"]),
        "DASHBOARD_PORT": str(ports["dashboard"]),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "PYTHONPATH": str(PROJECT_ROOT),
    }


@contextlib.contextmanager
def running_chaos_stack(var_dir: Path) -> Iterator[ChaosStack]:
    """Start fake providers and ``aftercare run``; stop both whatever happens."""
    fake = FakeProviders().start()
    ports = {name: free_port() for name in SERVERS}
    token = "chaos-token-" + os.urandom(6).hex()
    stack = ChaosStack(var_dir, fake, ports, token, chaos_env(var_dir, fake, ports, token))
    try:
        stack.start()
        yield stack
    finally:
        stack.close()
