"""`aftercare run` (what `make run` calls): starts everything, answers, stops on Ctrl-C."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request

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
