"""Resident memory and PostgreSQL connections per server process, read from /proc (Linux)."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Dict, List, Set

from scale.cluster import Process


def resident_mb(pid: int) -> float:
    """Resident memory of one process in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _socket_inodes_to(port: int) -> Set[str]:
    inodes: Set[str] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) > 9 and int(parts[2].rsplit(":", 1)[1], 16) == port:
                inodes.add(parts[9])
    return inodes


def connections_to(pid: int, port: int) -> int:
    """How many TCP connections process ``pid`` holds to ``port`` on this machine."""
    inodes = _socket_inodes_to(port)
    count = 0
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:[") and target[8:-1] in inodes:
                count += 1
    except OSError:
        pass
    return count


class Sampler(threading.Thread):
    """Record the peak memory and database connections of each process, once a second."""

    def __init__(self, processes: List[Process], database_port: int) -> None:
        super().__init__(daemon=True)
        self.processes = processes
        self.database_port = database_port
        self.peak_mb: Dict[str, float] = {}
        self.peak_connections: Dict[str, int] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.wait(1.0):
            for process in self.processes:
                if process.popen is None or process.popen.poll() is not None:
                    continue
                pid = process.popen.pid
                self.peak_mb[process.name] = max(self.peak_mb.get(process.name, 0.0), resident_mb(pid))
                connections = connections_to(pid, self.database_port)
                self.peak_connections[process.name] = max(
                    self.peak_connections.get(process.name, 0), connections
                )

    def stop(self) -> None:
        self._stop_event.set()
