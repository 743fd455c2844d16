"""Run several servers as one program: prefixed logs, health waits, restarts, clean shutdown.

``make run`` must keep the assistant up: a server that exits or stops answering its health
check is restarted with exponential backoff while the others keep serving (the escalation
replies come from Rasa alone, so a dead action server must never take Rasa down with it).
Ctrl-C, SIGTERM and SIGHUP stop everything. Children die with the supervisor even when it
is killed with SIGKILL (``PR_SET_PDEATHSIG``), and a pid file lets the next start remove
anything a crashed supervisor left behind, so the ports are free again.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Callable, Dict, List, Optional, Sequence, TextIO

from bot.log_privacy import redact

PR_SET_PDEATHSIG = 1
# Loaded here, not in the forked child: between fork and exec only async-signal-safe work.
try:
    _LIBC: Optional[ctypes.CDLL] = ctypes.CDLL(None, use_errno=True)
except OSError:  # pragma: no cover - not Linux
    _LIBC = None


@dataclass
class Service:
    """One process to keep running: its command, a health URL ("" for none), and a log prefix."""

    name: str
    command: Sequence[str]
    health_url: str
    env: Dict[str, str] = field(default_factory=dict)
    process: Optional[subprocess.Popen[bytes]] = None


@dataclass(frozen=True)
class RestartPolicy:
    """When a server counts as dead and how long to wait before starting it again."""

    initial_backoff: float = 1.0
    max_backoff: float = 30.0
    # A busy Rasa (a long message in NLU) may miss one check; ~30 s of silence is a hang.
    health_interval: float = 10.0
    health_failures: int = 3
    # A server that never answers within this long after a (re)start is restarted
    # (Rasa loads its model for minutes on a small, busy machine).
    startup_timeout: float = 600.0
    # Up and answering this long: the next failure starts again from the initial backoff.
    stable_after: float = 60.0


@dataclass
class _State:
    started_at: float = 0.0
    healthy_since: Optional[float] = None
    failures: int = 0
    next_check: float = 0.0
    restart_at: Optional[float] = None
    backoff: float = 0.0
    restarts: int = 0


def _pump(prefix: str, stream: Optional[IO[bytes]], out: TextIO) -> None:
    if stream is None:
        return
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip()
        out.write(f"[{prefix}] {redact(line)}\n")
        out.flush()


def is_up(url: str, timeout: float = 5.0) -> bool:
    """Return True when ``url`` answers with any HTTP status below 500."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status) < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (urllib.error.URLError, OSError, ValueError):
        return False


def die_with_parent(parent: int) -> None:
    """In a freshly forked child: get SIGKILL when ``parent`` dies (exit now if it already has).

    Async-signal-safe (the C library was loaded before the fork), so it may run between fork
    and exec as well as in a forked worker that never execs.
    """
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _child_setup(parent: int) -> Callable[[], None]:
    """Return what the child runs before exec: private umask, SIGKILL when the parent goes."""

    def setup() -> None:
        os.umask(0o077)
        die_with_parent(parent)

    return setup


class Supervisor:
    """Start services, wait for health, relay logs, restart failures, stop them all together."""

    def __init__(
        self,
        services: List[Service],
        cwd: str,
        out: TextIO = sys.stdout,
        policy: RestartPolicy = RestartPolicy(),
        pid_file: Optional[Path] = None,
        clock: Callable[[], float] = time.monotonic,
        probe: Callable[[str], bool] = is_up,
    ) -> None:
        self.services = services
        self.cwd = cwd
        self.out = out
        self.policy = policy
        self.pid_file = pid_file
        self.clock = clock
        self.probe = probe
        self._state: Dict[str, _State] = {s.name: _State() for s in services}
        self._stopping = False
        self._stop = threading.Event()
        self._lock = threading.RLock()
        self._watcher: Optional[threading.Thread] = None

    def _say(self, line: str) -> None:
        self.out.write(f"[aftercare] {line}\n")
        self.out.flush()

    def start(self) -> None:
        """Remove stale servers of a crashed run, then start every service."""
        if self.pid_file is not None:
            kill_stale(self.pid_file)
        for service in self.services:
            self._spawn(service)

    def add(self, service: Service) -> None:
        """Start one more service under this supervisor (e.g. workers once the servers answer)."""
        with self._lock:
            self.services.append(service)
            self._state[service.name] = _State()
            self._spawn(service)

    def _spawn(self, service: Service) -> None:
        """Start one service in its own session so its whole tree can be signalled."""
        env = {**os.environ, **service.env}
        service.process = subprocess.Popen(
            list(service.command),
            cwd=self.cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_child_setup(os.getpid()),
        )
        state = self._state[service.name]
        state.started_at = self.clock()
        state.healthy_since = None
        state.failures = 0
        state.next_check = state.started_at
        state.restart_at = None
        threading.Thread(
            target=_pump, args=(service.name, service.process.stdout, self.out), daemon=True
        ).start()
        self._write_pid_file()

    def wait_until_up(self, timeout: float) -> bool:
        """Wait for every health URL; False if a service died or time ran out."""
        deadline = time.monotonic() + timeout
        pending = list(self.services)
        while pending and time.monotonic() < deadline:
            if self.crashed():
                return False
            # A worker without a health URL (e.g. a reconciler) counts as up while it runs.
            pending = [s for s in pending if s.health_url and not self.probe(s.health_url)]
            if pending:
                time.sleep(1.0)
        now = self.clock()
        for service in self.services:
            if service not in pending:
                self._state[service.name].healthy_since = now
        return not pending

    def crashed(self) -> Optional[Service]:
        """Return a service whose process has exited, if any."""
        for service in self.services:
            if service.process is not None and service.process.poll() is not None:
                return service
        return None

    def tick(self) -> None:
        """Check every service once: restart the dead, kill the hung, start the due."""
        with self._lock:
            for service in self.services:
                if self._stopping:
                    return
                now = self.clock()
                try:
                    self._check(service, now)
                except Exception as error:  # e.g. fork failed: keep watching, retry after the backoff
                    self._schedule_restart(service, now, f"could not be started ({type(error).__name__})")

    def _check(self, service: Service, now: float) -> None:
        state = self._state[service.name]
        if state.restart_at is not None:
            if now >= state.restart_at:
                state.restarts += 1
                self._spawn(service)
            return
        process = service.process
        if process is None:
            return
        code = process.poll()
        if code is not None:
            self._schedule_restart(service, now, f"exited with code {code}")
            return
        if not service.health_url or now < state.next_check:
            return
        state.next_check = now + self.policy.health_interval
        if self.probe(service.health_url):
            state.failures = 0
            if state.healthy_since is None:
                state.healthy_since = now
            return
        if state.healthy_since is None:
            if now - state.started_at >= self.policy.startup_timeout:
                self._kill(service)
                self._schedule_restart(service, now, "did not come up")
            return
        state.failures += 1
        if state.failures >= self.policy.health_failures:
            self._kill(service)
            self._schedule_restart(service, now, f"failed {state.failures} health checks in a row")

    def _schedule_restart(self, service: Service, now: float, reason: str) -> None:
        state = self._state[service.name]
        stable = state.healthy_since is not None and now - state.healthy_since >= self.policy.stable_after
        if stable or state.backoff == 0.0:
            state.backoff = self.policy.initial_backoff
        else:
            state.backoff = min(state.backoff * 2, self.policy.max_backoff)
        state.restart_at = now + state.backoff
        self._say(f"{service.name} {reason}; restarting in {state.backoff:g} s (the others keep serving)")

    def restarts(self, name: str) -> int:
        """How often a restart of the service ``name`` was attempted."""
        return self._state[name].restarts

    def _kill(self, service: Service) -> None:
        _signal_group(service, signal.SIGKILL)
        if service.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                service.process.wait(timeout=10)

    def watch(self, interval: float = 0.5) -> None:
        """Keep services up from a background thread (for embedders such as tests)."""
        if self._watcher is not None:
            return

        def loop() -> None:
            # The watcher thread outlives every child it starts: PR_SET_PDEATHSIG fires
            # when the thread that forked the child ends.
            while not self._stop.wait(interval):
                self.tick()

        self._watcher = threading.Thread(target=loop, name="supervisor-watch", daemon=True)
        self._watcher.start()

    def stop(self, grace: float = 15.0) -> None:
        """Send SIGTERM to every process group, then SIGKILL whatever is left."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        self._stop.set()
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
            # Anything the server forked stays in its group: make sure it is gone too.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(service.process.pid, signal.SIGKILL)
        if self.pid_file is not None:
            with contextlib.suppress(FileNotFoundError):
                self.pid_file.unlink()

    def handle_stop_signals(self) -> None:
        """Make Ctrl-C, SIGTERM and SIGHUP (terminal closed) stop the whole group cleanly."""

        def on_signal(signum: int, frame: object) -> None:
            self._stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, on_signal)

    def run_until_stopped(self, interval: float = 0.5) -> int:
        """Keep services up until Ctrl-C, SIGTERM or SIGHUP; then stop them all and return 0."""
        self.handle_stop_signals()
        while not self._stop.wait(interval):
            self.tick()
        self.stop()
        return 0

    def _write_pid_file(self) -> None:
        if self.pid_file is None:
            return
        lines = [f"supervisor {os.getpid()} {_start_time(os.getpid())}"]
        for service in self.services:
            if service.process is not None and service.process.poll() is None:
                pid = service.process.pid
                lines.append(f"{service.name} {pid} {_start_time(pid)}")
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.pid_file.with_suffix(".tmp")
        temporary.write_text("\n".join(lines) + "\n", encoding="utf-8")
        os.replace(temporary, self.pid_file)


def _signal_group(service: Service, signum: int) -> None:
    if service.process is None or service.process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(service.process.pid, signum)


def _stat(pid: int) -> Optional[List[str]]:
    """Fields of /proc/PID/stat after the command name (field 3 onwards), or None."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def _start_time(pid: int) -> int:
    fields = _stat(pid)
    return int(fields[19]) if fields else 0


class AlreadyRunningError(RuntimeError):
    """Another supervisor that uses the same runtime folder is still alive."""


def kill_stale(pid_file: Path) -> List[int]:
    """Kill every process group a crashed supervisor left behind; return the pids killed.

    Each recorded group is identified by its leader's pid *and* start time, so a pid
    reused by an unrelated program since then is never touched.

    Raises:
        AlreadyRunningError: the supervisor that wrote the file is still alive.
    """
    if not pid_file.exists():
        return []
    killed: List[int] = []
    for line in pid_file.read_text(encoding="utf-8").splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        name, pid, started = parts[0], int(parts[1]), int(parts[2])
        if name == "supervisor":
            if pid != os.getpid() and _start_time(pid) == started:
                raise AlreadyRunningError(f"another supervisor (pid {pid}) is running; stop it first")
            continue
        killed += _kill_group(pid, started)
    with contextlib.suppress(FileNotFoundError):
        pid_file.unlink()
    return killed


def _kill_group(pgid: int, started: int) -> List[int]:
    """SIGKILL every process of the group a server with leader ``pgid`` started at ``started``.

    A live leader with another start time means the pid was reused: not ours. While any
    member lives, Linux never hands the group's id to a new process, so members are ours.
    """
    leader_started = _start_time(pgid)
    if leader_started and leader_started != started:
        return []
    members: List[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat(int(entry.name))
        if fields and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(entry.name))
    for pid in members:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    return members
