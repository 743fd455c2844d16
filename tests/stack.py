"""Start the real assistant (action server + Rasa server) on free localhost ports for tests."""

from __future__ import annotations

import dataclasses
import io
import json
import socket
import subprocess
import sys
import threading
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional

from bot.cli.run import PID_FILE, build_services
from bot.runtime_files import private_database, private_var_dir
from bot.settings import Settings
from bot.supervisor import RestartPolicy, Supervisor


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Log(io.StringIO):
    """Collect server output so a failing test can show it."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            return super().write(text)


@dataclass
class Stack:
    """A running assistant and how to talk to it."""

    rasa_url: str
    action_url: str
    dashboard_url: str
    token: str
    database_url: str
    supervisor: Supervisor
    log: _Log
    env: Dict[str, str]

    def chat(self, sender: str, message: str, timeout: float = 60) -> List[Dict[str, Any]]:
        """Send one message through the REST channel (with the API token) and return the bot's replies."""
        body = json.dumps({"sender": sender, "message": message}).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.token}"}
        request = urllib.request.Request(f"{self.rasa_url}/webhooks/rest/webhook", data=body, headers=headers)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())

    def texts(self, sender: str, message: str) -> List[str]:
        """Send a message and return the reply texts."""
        return [m.get("text", "") for m in self.chat(sender, message)]

    def api(self, method: str, path: str, payload: Optional[Any] = None, token: bool = True) -> Any:
        """Call Rasa's HTTP API with the auth token."""
        separator = "&" if "?" in path else "?"
        url = f"{self.rasa_url}{path}{separator}token={self.token}" if token else f"{self.rasa_url}{path}"
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def tracker(self, sender: str) -> Dict[str, Any]:
        """Return the conversation's tracker from the HTTP API."""
        return self.api("GET", f"/conversations/{sender}/tracker")

    def stop(self) -> None:
        """Stop every server of this stack."""
        self.supervisor.stop()


def upgrade_database(env: Dict[str, str], root: Path) -> None:
    """Create our tables (flags etc.) in the test database."""
    subprocess.run([sys.executable, "-m", "bot.cli", "db", "upgrade"], cwd=root, env=env, check=True)


def start_stack(
    model: Path,
    var_dir: Path,
    database_url: Optional[str] = None,
    with_actions: bool = True,
    with_dashboard: bool = False,
    extra_env: Optional[Dict[str, str]] = None,
    timeout: float = 240,
    policy: Optional[RestartPolicy] = None,
) -> Stack:
    """Start the servers on fresh ports, wait until they answer, and return the stack.

    Like ``aftercare run``, the stack restarts a server that dies or hangs (``policy``).
    """
    private_var_dir(var_dir)
    database_url = database_url or f"sqlite:///{var_dir / 'aftercare.db'}"
    token = "test-token-" + var_dir.name
    env = {
        **dict(__import__("os").environ),
        "AFTERCARE_DATABASE_URL": database_url,
        "AFTERCARE_VAR_DIR": str(var_dir),
        "RASA_AUTH_TOKEN": token,
        "TF_CPP_MIN_LOG_LEVEL": "2",
        **(extra_env or {}),
    }
    settings = dataclasses.replace(
        Settings.from_env(env),
        rasa_port=free_port(),
        action_port=free_port(),
        dashboard_port=free_port(),
        var_dir=var_dir,
    )
    private_database(database_url)
    upgrade_database(env, settings.project_root)
    services = build_services(settings, model, token, with_dashboard=with_dashboard)
    if not with_actions:
        services = [s for s in services if s.name != "actions"]
    for service in services:
        service.env.update({k: v for k, v in env.items() if k.startswith(("AFTERCARE_", "RASA_"))})
    log = _Log()
    supervisor = Supervisor(
        services,
        cwd=str(settings.project_root),
        out=log,
        policy=policy or RestartPolicy(),
        pid_file=var_dir / PID_FILE,
    )
    supervisor.start()
    if not supervisor.wait_until_up(timeout):
        supervisor.stop()
        raise RuntimeError("assistant did not start:\n" + log.getvalue()[-6000:])
    supervisor.watch()
    return Stack(
        rasa_url=f"http://127.0.0.1:{settings.rasa_port}",
        action_url=f"http://127.0.0.1:{settings.action_port}",
        dashboard_url=f"http://127.0.0.1:{settings.dashboard_port}",
        token=token,
        database_url=database_url,
        supervisor=supervisor,
        log=log,
        env=env,
    )
