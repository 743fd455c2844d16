"""A throwaway PostgreSQL server for the tests marked ``postgres``.

Starts Debian's ``postgresql`` binaries (``/usr/lib/postgresql/<version>/bin``) on
127.0.0.1 with a free port, its data directory and unix socket in a temporary folder,
once per test session; every test gets a fresh database. PostgreSQL refuses to run as
root, so as root the server runs as the ``postgres`` system user.

Without the binaries the tests are skipped locally, but fail when ``CI=true``: CI
installs ``postgresql`` and must never silently skip these tests.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

DEBIAN_GLOB = "/usr/lib/postgresql/*/bin"
SYSTEM_USER = "postgres"
TEST_DATABASE = "aftercare_tests"


def find_bin_dir() -> Optional[Path]:
    """Return the newest PostgreSQL binaries folder, or ``None``."""
    candidates = [Path(path) for path in sorted(Path("/").glob(DEBIAN_GLOB.lstrip("/")))]
    candidates = [path for path in candidates if (path / "initdb").exists() and (path / "pg_ctl").exists()]
    if candidates:
        return max(
            candidates, key=lambda path: float(path.parent.name) if path.parent.name.isdigit() else 0.0
        )
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def unavailable_reason() -> Optional[str]:
    """Explain why a server cannot be started here, or return ``None`` if it can."""
    if find_bin_dir() is None:
        return f"PostgreSQL binaries not found ({DEBIAN_GLOB}); run: apt-get install -y postgresql"
    try:
        import psycopg2  # noqa: F401
    except ImportError:
        return "psycopg2 is not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            return f"running as root but there is no {SYSTEM_USER!r} system user to run PostgreSQL as"
    return None


def require_postgres() -> None:
    """Skip (locally) or fail (when ``CI=true``) if no server can be started."""
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresServer:
    """One PostgreSQL cluster in a temporary directory."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self._as_system_user = os.geteuid() == 0
        # As root, /tmp rather than $TMPDIR: the postgres user must be able to reach the folder.
        self.root = Path(
            tempfile.mkdtemp(prefix="aftercare-pg-", dir="/tmp" if self._as_system_user else None)
        )
        self.data_dir = self.root / "data"
        self.log_file = self.root / "server.log"
        self.port = free_port()

    def _run(self, *args: str) -> None:
        command: List[str] = [str(self.bin_dir / args[0]), *args[1:]]
        if self._as_system_user:
            command = ["runuser", "-u", SYSTEM_USER, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.root)
        if result.returncode != 0:
            log = self.log_file.read_text() if self.log_file.exists() else ""
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout}\n{result.stderr}\n{log}")

    def start(self) -> PostgresServer:
        """Create the cluster and start the server; return once it accepts connections."""
        if self._as_system_user:
            account = pwd.getpwnam(SYSTEM_USER)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self._run(
            "initdb",
            "-D",
            str(self.data_dir),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        self._run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-o", options, "-w", "start")
        self._admin(f'CREATE DATABASE "{TEST_DATABASE}"')
        return self

    def stop(self) -> None:
        """Stop the server and remove every file it wrote."""
        try:
            if (self.data_dir / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.data_dir), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        """Return a SQLAlchemy URL for one database on this server."""
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, statement: str, database: str = "postgres") -> None:
        import psycopg2

        connection = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database)
        try:
            connection.autocommit = True
            with connection.cursor() as cursor:
                cursor.execute(statement)
        finally:
            connection.close()

    @contextlib.contextmanager
    def fresh_database(self) -> Iterator[str]:
        """Yield the URL of an empty database for one test, and remove it afterwards.

        Each test gets its own schema (set as the connection's ``search_path``) in one
        shared database: as isolated as a database of its own, ten times quicker to make.
        """
        name = f"test_{uuid.uuid4().hex[:16]}"
        self._admin(f'CREATE SCHEMA "{name}"', database=TEST_DATABASE)
        try:
            yield f"{self.url(TEST_DATABASE)}?options=-csearch_path%3D{name}"
        finally:
            self._admin(f'DROP SCHEMA IF EXISTS "{name}" CASCADE', database=TEST_DATABASE)


_lock = threading.Lock()
_server: Optional[PostgresServer] = None
_users = 0


@contextlib.contextmanager
def shared_server() -> Iterator[PostgresServer]:
    """Start one server for every fixture that asks (across test folders); stop it after the last."""
    global _server, _users
    require_postgres()
    with _lock:
        if _server is None:
            bin_dir = find_bin_dir()
            assert bin_dir is not None
            _server = PostgresServer(bin_dir).start()
        _users += 1
        server = _server
    try:
        yield server
    finally:
        with _lock:
            _users -= 1
            if _users == 0 and _server is not None:
                _server.stop()
                _server = None


DATABASES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@contextlib.contextmanager
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty database of the kind ``request.param`` names (see ``DATABASES``).

    PostgreSQL comes from the session fixture ``postgres_server``, which each test folder's
    conftest defines by entering :func:`shared_server`.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'aftercare.db'}"
        return
    server = request.getfixturevalue("postgres_server")
    with server.fresh_database() as url:
        yield url
