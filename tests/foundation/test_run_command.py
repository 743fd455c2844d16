"""`aftercare run` (what `make run` calls): starts everything, answers, stops on Ctrl-C."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.supervisor import is_up
from tests.stack import free_port

pytestmark = pytest.mark.slow


def test_run_starts_all_servers_and_ctrl_c_stops_them(trained_model, project_root, tmp_path):
    ports = {"RASA_PORT": free_port(), "ACTION_PORT": free_port(), "DASHBOARD_PORT": free_port()}
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "AFTERCARE_VAR_DIR": str(tmp_path / "var"),
        "AFTERCARE_DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'aftercare.db'}",
        "RASA_AUTH_TOKEN": "run-test-token",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--no-train"],
        cwd=project_root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    output = []
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        assert any("Aftercare Assistant is up." in line for line in output), "".join(output[-50:])
        rasa = f"http://127.0.0.1:{ports['RASA_PORT']}"
        request = urllib.request.Request(
            f"{rasa}/webhooks/rest/webhook",
            data=json.dumps({"sender": "run-test", "message": "hello"}).encode(),
            headers={"Authorization": "Bearer run-test-token"},
        )
        with urllib.request.urlopen(request, timeout=60) as response:
            assert json.loads(response.read())[0]["text"].startswith("Hello!")
        assert is_up(f"http://127.0.0.1:{ports['ACTION_PORT']}/health")
        assert is_up(f"http://127.0.0.1:{ports['DASHBOARD_PORT']}/login")
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
        assert process.returncode == 0
        assert "[aftercare] stopped." in rest
        for port in ports.values():
            assert not is_up(f"http://127.0.0.1:{port}/", timeout=1)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _port_free(port: int) -> bool:
    """True when a new server could listen on ``port`` (as servers do, despite TIME_WAIT leftovers)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
            sock.listen()
        except OSError:
            return False
        return True


def test_sigkill_of_aftercare_run_leaves_no_server_behind(trained_model, project_root, tmp_path):
    ports = {"RASA_PORT": free_port(), "ACTION_PORT": free_port()}
    var_dir = tmp_path / "var"
    env = {
        **os.environ,
        **{k: str(v) for k, v in ports.items()},
        "AFTERCARE_VAR_DIR": str(var_dir),
        "RASA_AUTH_TOKEN": "orphan-test-token-0123456789abcdef",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "run", "--no-train", "--no-dashboard"],
        cwd=project_root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        output = []
        for line in iter(process.stdout.readline, ""):
            output.append(line)
            if "Press Ctrl-C" in line:
                break
        assert any("Aftercare Assistant is up." in line for line in output), "".join(output[-50:])
        records = (var_dir / "servers.pid").read_text().split("\n")
        children = [int(r.split()[1]) for r in records if r and not r.startswith("supervisor")]
        assert len(children) == 5  # actions, rasa, reconciler, checkins, deadlines (no dashboard)
        for pid in children:
            assert b"orphan-test-token" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        assert var_dir.stat().st_mode & 0o777 == 0o700
        assert (var_dir / "aftercare.db").stat().st_mode & 0o777 == 0o600
        process.kill()
        process.wait(timeout=30)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
            any(_running(pid) for pid in children) or not all(_port_free(port) for port in ports.values())
        ):
            time.sleep(0.5)
        assert not any(_running(pid) for pid in children), "servers outlived the supervisor"
        assert all(_port_free(port) for port in ports.values())
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
