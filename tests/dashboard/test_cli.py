"""``aftercare dashboard``: migrates, serves, stops cleanly; refuses a short pinned secret."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests

from bot.secrets_store import SECRET_VARIABLES
from bot.settings import PROJECT_ROOT
from tests.postgres import free_port


def dashboard_process(tmp_path, **env: str) -> subprocess.Popen:
    environment = {
        **{name: value for name, value in os.environ.items() if name not in SECRET_VARIABLES.values()},
        "AFTERCARE_DATABASE_URL": f"sqlite:///{tmp_path / 'aftercare.db'}",
        "AFTERCARE_VAR_DIR": str(tmp_path / "var"),
        "AFTERCARE_ENV": "development",
        **env,
    }
    port = env.get("DASHBOARD_PORT") or str(free_port())
    return subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "dashboard", "--port", port],
        cwd=PROJECT_ROOT,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_the_dashboard_serves_the_login_page_and_stops_on_sigterm(tmp_path):
    port = free_port()
    process = dashboard_process(tmp_path, DASHBOARD_PORT=str(port))
    try:
        deadline = time.monotonic() + 120
        response = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = requests.get(f"http://127.0.0.1:{port}/", timeout=5, allow_redirects=False)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert response is not None, process.stderr.read() if process.poll() is not None else "no answer"
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert requests.get(f"http://127.0.0.1:{port}/login", timeout=5).status_code == 200
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert f"dashboard on http://127.0.0.1:{port}" in stdout
    assert (tmp_path / "aftercare.db").exists()


def test_the_dashboard_refuses_a_short_pinned_secret(tmp_path):
    process = dashboard_process(tmp_path, AFTERCARE_ENV="production", AFTERCARE_SECRET_KEY="change-me")
    try:
        _, stderr = process.communicate(timeout=120)
    finally:
        if process.poll() is None:  # it started after all: never leave it running
            process.kill()
            process.communicate()
    assert process.returncode == 2
    assert "AFTERCARE_SECRET_KEY" in stderr
