"""The process group behind `make run`: health waits, crash detection, clean stop."""

import io
import sys
import time

from bot.supervisor import Service, Supervisor, is_up
from tests.stack import free_port


def _http_server(name: str, port: int) -> Service:
    return Service(
        name=name,
        command=[sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        health_url=f"http://127.0.0.1:{port}/",
    )


def test_starts_waits_prefixes_and_stops_everything():
    out = io.StringIO()
    services = [_http_server("one", free_port()), _http_server("two", free_port())]
    supervisor = Supervisor(services, cwd=".", out=out)
    supervisor.start()
    try:
        assert supervisor.wait_until_up(timeout=30)
        assert all(is_up(s.health_url) for s in services)
    finally:
        supervisor.stop()
    assert all(s.process.poll() is not None for s in services)
    assert not any(is_up(s.health_url, timeout=0.5) for s in services)
    deadline = time.monotonic() + 5
    while "[one] " not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "[one] " in out.getvalue()


def test_a_crashed_service_is_reported_and_fails_the_wait():
    crashing = Service(
        name="bad", command=[sys.executable, "-c", "raise SystemExit(3)"], health_url="http://127.0.0.1:9/"
    )
    supervisor = Supervisor([crashing], cwd=".", out=io.StringIO())
    supervisor.start()
    try:
        assert not supervisor.wait_until_up(timeout=30)
        assert supervisor.crashed() is crashing
    finally:
        supervisor.stop()


def test_run_until_stopped_returns_failure_when_a_service_dies():
    port = free_port()
    good = _http_server("good", port)
    dies = Service(name="dies", command=[sys.executable, "-c", "import time; time.sleep(1)"], health_url="")
    out = io.StringIO()
    supervisor = Supervisor([good, dies], cwd=".", out=out)
    supervisor.start()
    code = supervisor.run_until_stopped()
    assert code == 1
    assert "dies exited" in out.getvalue()
    assert good.process.poll() is not None
