"""Start the production architecture on this machine: PostgreSQL, Redis, nginx, N replicas of each server.

Everything binds 127.0.0.1 on free ports, lives in one temporary folder and stops with
:meth:`Cluster.stop`. The services come from Debian packages (``scripts/install-system-deps``);
the servers are the project's own launchers, configured as a deployment would configure them.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import yaml

from bot.cli.run import CHILD_ENV
from bot.launch.action_server import SECRET_HEADER
from tests.postgres import TEST_DATABASE, PostgresServer, find_bin_dir, free_port

ROOT = Path(__file__).resolve().parent.parent
LOCK_STORES = {"atomic": "bot.lock_store.AtomicRedisLockStore", "stock": "redis"}


@dataclass
class Process:
    """One supervised-by-hand server process."""

    name: str
    command: List[str]
    env: Dict[str, str]
    log: Path
    health_url: str = ""
    popen: Optional[subprocess.Popen] = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.command,
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def kill(self) -> None:
        """SIGKILL the whole process group (a crash, not a shutdown)."""
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=30)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def up(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=5) as response:
                return response.status < 500
        except Exception:  # noqa: BLE001 - not up yet
            return False


@dataclass
class Cluster:
    """The running services and how to reach them."""

    root: Path
    token: str
    rasa_ports: List[int]
    action_ports: List[int]
    proxy_port: int
    postgres: PostgresServer
    redis: Process
    nginx: Process
    rasa: List[Process] = field(default_factory=list)
    actions: List[Process] = field(default_factory=list)
    reconcilers: List[Process] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return self.postgres.url(TEST_DATABASE)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    def processes(self) -> List[Process]:
        return [*self.rasa, *self.actions, *self.reconcilers]

    def wait_until_up(self, processes: List[Process], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for process in processes:
            while not process.up():
                if process.popen is not None and process.popen.poll() is not None:
                    raise RuntimeError(f"{process.name} exited; see {process.log}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{process.name} did not come up; see {process.log}")
                time.sleep(1)

    def stop(self, keep_files: bool = False) -> None:
        for process in [*self.processes(), self.nginx, self.redis]:
            process.stop()
        self.postgres.stop()
        if not keep_files:
            shutil.rmtree(self.root, ignore_errors=True)


def _nginx_config(
    root: Path, proxy_port: int, rasa_ports: List[int], action_ports: List[int], action_proxy: int
) -> str:
    def servers(ports: List[int], first: Optional[int] = None) -> str:
        lines = []
        for port in ports:
            backup = " backup" if first is not None and port != first else ""
            lines.append(f"    server 127.0.0.1:{port} max_fails=1 fail_timeout=3s{backup};")
        return "\n".join(lines)

    pinned = "\n".join(
        f"  upstream rasa_{i} {{\n{servers(rasa_ports, port)}\n    keepalive 16;\n  }}"
        for i, port in enumerate(rasa_ports)
    )
    choices = "\n".join(f'    "{i}" rasa_{i};' for i in range(len(rasa_ports)))
    proxy = """
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_read_timeout 180s;
      proxy_next_upstream error timeout http_502 http_503;
"""
    user = "user root root;\n" if os.geteuid() == 0 else ""
    return f"""{user}worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {root}/nginx-body;
  proxy_temp_path {root}/nginx-proxy;
  fastcgi_temp_path {root}/nginx-fastcgi;
  uwsgi_temp_path {root}/nginx-uwsgi;
  scgi_temp_path {root}/nginx-scgi;
  upstream rasa {{
{servers(rasa_ports)}
    keepalive 32;
  }}
{pinned}
  upstream actions {{
{servers(action_ports)}
    keepalive 32;
  }}
  # X-Scale-Replica pins a request to one replica (the other as backup); without it: round robin.
  map $http_x_scale_replica $rasa_pool {{
    default rasa;
{choices}
  }}
  server {{
    listen 127.0.0.1:{proxy_port};
    location / {{
      proxy_pass http://$rasa_pool;{proxy}    }}
  }}
  server {{
    listen 127.0.0.1:{action_proxy};
    location / {{
      proxy_pass http://actions;{proxy}    }}
  }}
}}
"""


def start_cluster(model: Path, replicas: int = 2, lock_store: str = "atomic") -> Cluster:
    """Start PostgreSQL, Redis, ``replicas`` action servers, Rasa servers and reconcilers, and nginx."""
    bin_dir = find_bin_dir()
    redis_server = shutil.which("redis-server")
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if bin_dir is None or redis_server is None or nginx is None:
        raise RuntimeError(
            "needs Debian's postgresql, redis-server and nginx: run scripts/install-system-deps"
        )
    root = Path(tempfile.mkdtemp(prefix="aftercare-scale-"))
    os.chmod(root, 0o755)
    postgres = PostgresServer(bin_dir).start()
    token = secrets.token_urlsafe(32)
    shared = {
        "AFTERCARE_DATABASE_URL": postgres.url(TEST_DATABASE),
        "RASA_AUTH_TOKEN": token,
        "AFTERCARE_WIDGET_SECRET": secrets.token_urlsafe(32),
        "AFTERCARE_ACTION_SECRET": secrets.token_urlsafe(32),
        "AFTERCARE_ENV": "development",
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    base_env = {**os.environ, **CHILD_ENV, **shared}
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=ROOT, env=base_env, check=True)

    redis_port = free_port()
    redis = Process(
        "redis",
        [
            redis_server,
            "--port",
            str(redis_port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(root),
            "--save",
            "",
            "--appendonly",
            "no",
            "--protected-mode",
            "yes",
        ],
        base_env,
        root / "redis.log",
    )
    redis.start()

    rasa_ports = [free_port() for _ in range(replicas)]
    action_ports = [free_port() for _ in range(replicas)]
    proxy_port, action_proxy = free_port(), free_port()
    (root / "nginx.conf").write_text(_nginx_config(root, proxy_port, rasa_ports, action_ports, action_proxy))
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (root / f"nginx-{name}").mkdir()
    nginx_process = Process(
        "nginx",
        [nginx, "-p", str(root), "-e", str(root / "nginx-error.log"), "-c", str(root / "nginx.conf")],
        base_env,
        root / "nginx.log",
    )
    nginx_process.start()

    endpoints = {
        "action_endpoint": {
            "url": f"http://127.0.0.1:{action_proxy}/webhook",
            "headers": {SECRET_HEADER: shared["AFTERCARE_ACTION_SECRET"]},
        },
        "tracker_store": {"type": "bot.tracker_store.AftercareTrackerStore"},
        "lock_store": {"type": LOCK_STORES[lock_store], "url": "127.0.0.1", "port": redis_port, "db": 1},
    }
    endpoints_file = root / "endpoints.yml"
    endpoints_file.write_text(yaml.safe_dump(endpoints, sort_keys=False))
    credentials_file = root / "credentials.yml"
    credentials_file.write_text(
        # Every replica signs and checks widget sessions with the same key.
        yaml.safe_dump(
            {
                "bot.channels.rest.TokenRestInput": None,
                "bot.channels.widget.WidgetInput": {"secret": "${AFTERCARE_WIDGET_SECRET}"},
            }
        )
    )
    cluster = Cluster(root, token, rasa_ports, action_ports, proxy_port, postgres, redis, nginx_process)
    for index in range(replicas):
        var_dir = root / f"var-{index}"
        var_dir.mkdir(mode=0o700)
        env = {**base_env, "AFTERCARE_VAR_DIR": str(var_dir)}
        cluster.actions.append(
            Process(
                f"actions-{index}",
                [sys.executable, "-m", "bot.launch.action_server", "--port", str(action_ports[index])],
                env,
                root / f"actions-{index}.log",
                f"http://127.0.0.1:{action_ports[index]}/health",
            )
        )
        cluster.rasa.append(
            Process(
                f"rasa-{index}",
                [
                    sys.executable,
                    "-m",
                    "bot.launch.rasa_server",
                    "--interface",
                    "127.0.0.1",
                    "--port",
                    str(rasa_ports[index]),
                    "--model",
                    str(model),
                    "--endpoints",
                    str(endpoints_file),
                    "--credentials",
                    str(credentials_file),
                ],
                env,
                root / f"rasa-{index}.log",
                f"http://127.0.0.1:{rasa_ports[index]}/",
            )
        )
        # Each Rasa replica's owed-flag journal is in its own var dir: its reconciler drains it.
        cluster.reconcilers.append(
            Process(
                f"reconciler-{index}",
                [sys.executable, "-m", "bot.cli", "reconcile"],
                env,
                root / f"reconciler-{index}.log",
            )
        )
    for process in cluster.processes():
        process.start()
    return cluster
