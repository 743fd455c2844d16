"""The process group behind `make run`: health waits, restarts with backoff, clean stop, no orphans."""

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List

import pytest

from bot.supervisor import AlreadyRunningError, RestartPolicy, Service, Supervisor, is_up, kill_stale
from tests.stack import free_port


def _http_server(name: str, port: int) -> Service:
    return Service(
        name=name,
        command=[sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        health_url=f"http://127.0.0.1:{port}/",
    )


def _sleeper(name: str) -> Service:
    return Service(name=name, command=[sys.executable, "-c", "import time; time.sleep(600)"], health_url="x")


def _exits(name: str, code: int = 3) -> Service:
    return Service(name=name, command=[sys.executable, "-c", f"raise SystemExit({code})"], health_url="")


class FakeClock:
    """A clock the test moves by hand: backoff is checked without sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split(")")[-1].split()[0] != "Z"


def _wait_until(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


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
    assert _wait_until(lambda: "[one] " in out.getvalue(), timeout=5)


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


def test_a_dead_service_is_restarted_with_growing_capped_backoff_while_the_others_keep_running():
    clock = FakeClock()
    out = io.StringIO()
    dies, keeps = _exits("dies"), _sleeper("keeps")
    policy = RestartPolicy(initial_backoff=1, max_backoff=4)
    supervisor = Supervisor(
        [dies, keeps], cwd=".", out=out, policy=policy, clock=clock, probe=lambda url: True
    )
    supervisor.start()
    try:
        keeper = keeps.process.pid
        delays: List[str] = []
        for _ in range(5):
            dies.process.wait(timeout=30)
            supervisor.tick()  # notices the exit, schedules a restart
            delays.append(out.getvalue().strip().splitlines()[-1])
            supervisor.tick()  # not due yet: nothing is started
            assert dies.process.poll() is not None
            clock.now += float(delays[-1].split("restarting in ")[1].split(" s")[0])
            supervisor.tick()  # due: started again
            assert supervisor.restarts("dies") == len(delays)
        assert [line.split("restarting in ")[1].split(" s")[0] for line in delays] == [
            "1",
            "2",
            "4",
            "4",
            "4",
        ]
        assert "dies exited with code 3; restarting in 1 s" in delays[0]
        assert keeps.process.pid == keeper and keeps.process.poll() is None
        assert supervisor.restarts("keeps") == 0
    finally:
        supervisor.stop()


def test_a_hung_service_is_killed_after_several_failed_health_checks_and_restarted():
    clock = FakeClock()
    health: Dict[str, bool] = {"x": True}
    hung = _sleeper("hung")
    policy = RestartPolicy(health_interval=5, health_failures=3, initial_backoff=1)
    out = io.StringIO()
    supervisor = Supervisor(
        [hung], cwd=".", out=out, policy=policy, clock=clock, probe=lambda url: health[url]
    )
    supervisor.start()
    try:
        first = hung.process
        supervisor.tick()  # healthy once: from now on failures count
        health["x"] = False
        for _ in range(2):
            clock.now += 5
            supervisor.tick()
        assert first.poll() is None, "two failures are not enough"
        clock.now += 5
        supervisor.tick()
        assert first.poll() == -signal.SIGKILL
        assert "hung failed 3 health checks in a row; restarting in 1 s" in out.getvalue()
        clock.now += 1
        supervisor.tick()
        assert hung.process is not first and hung.process.poll() is None
    finally:
        supervisor.stop()


def test_a_service_still_starting_is_not_killed_before_its_startup_timeout():
    clock = FakeClock()
    slow = _sleeper("slow")
    policy = RestartPolicy(health_interval=5, health_failures=1, startup_timeout=100)
    supervisor = Supervisor(
        [slow], cwd=".", out=io.StringIO(), policy=policy, clock=clock, probe=lambda u: False
    )
    supervisor.start()
    try:
        process = slow.process
        for _ in range(19):
            clock.now += 5
            supervisor.tick()
        assert process.poll() is None
        clock.now += 10
        supervisor.tick()
        assert process.poll() is not None and supervisor.restarts("slow") == 0
    finally:
        supervisor.stop()


def test_backoff_starts_again_after_a_long_healthy_run():
    clock = FakeClock()
    out = io.StringIO()
    service = _sleeper("svc")
    policy = RestartPolicy(initial_backoff=1, max_backoff=30, stable_after=60)
    supervisor = Supervisor([service], cwd=".", out=out, policy=policy, clock=clock, probe=lambda u: True)
    supervisor.start()
    try:
        for expected in ("1", "2"):
            supervisor.tick()
            service.process.kill()
            service.process.wait()
            supervisor.tick()
            assert (
                out.getvalue()
                .splitlines()[-1]
                .endswith(f"restarting in {expected} s (the others keep serving)")
            )
            clock.now += float(expected)
            supervisor.tick()
        supervisor.tick()  # healthy
        clock.now += 120
        supervisor.tick()
        service.process.kill()
        service.process.wait()
        supervisor.tick()
        assert "restarting in 1 s" in out.getvalue().splitlines()[-1]
    finally:
        supervisor.stop()


def test_children_get_a_private_umask(tmp_path):
    target = tmp_path / "made-by-child"
    child = Service(
        name="writer", command=[sys.executable, "-c", f"open({str(target)!r}, 'w').write('x')"], health_url=""
    )
    supervisor = Supervisor([child], cwd=".", out=io.StringIO())
    supervisor.start()
    try:
        child.process.wait(timeout=30)
    finally:
        supervisor.stop()
    assert target.stat().st_mode & 0o777 == 0o600


SUPERVISOR_SCRIPT = """
import sys
from pathlib import Path
from bot.supervisor import Service, Supervisor
sleep = "import time; time.sleep(600)"
grandchild = f"import subprocess, sys; subprocess.Popen([sys.executable, '-c', {sleep!r}]); {sleep}"
services = [Service(f"s{i}", [sys.executable, "-c", grandchild], health_url="") for i in range(2)]
supervisor = Supervisor(services, cwd=".", pid_file=Path(sys.argv[1]))
supervisor.handle_stop_signals()
supervisor.start()
print("started", flush=True)
sys.exit(supervisor.run_until_stopped())
"""


def _group_members(pgids: List[int]) -> List[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().split(")")[-1].split()
            except OSError:
                continue
            if int(fields[2]) in pgids and fields[0] != "Z":
                members.append(int(entry.name))
    return members


def _start_supervisor_process(pid_file: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR_SCRIPT, str(pid_file)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    assert process.stdout.readline().strip() == "started"
    assert _wait_until(lambda: len(pid_file.read_text().splitlines()) == 3)
    return process


def _children(pid_file: Path) -> List[int]:
    return [
        int(line.split()[1])
        for line in pid_file.read_text().splitlines()
        if not line.startswith("supervisor")
    ]


def test_sigkill_of_the_supervisor_kills_its_children_and_the_next_start_kills_the_grandchildren(tmp_path):
    pid_file = tmp_path / "servers.pid"
    process = _start_supervisor_process(pid_file)
    children = _children(pid_file)
    assert _wait_until(lambda: len(_group_members(children)) == 4), "each child started a grandchild"
    process.kill()
    process.wait()
    assert _wait_until(lambda: not any(_alive(pid) for pid in children)), (
        "PR_SET_PDEATHSIG kills the children"
    )
    leftovers = _group_members(children)
    killed = kill_stale(pid_file)
    assert sorted(killed) == sorted(leftovers)
    assert _wait_until(lambda: not _group_members(children))
    assert not pid_file.exists()


def test_sighup_stops_the_supervisor_and_every_process_cleanly(tmp_path):
    pid_file = tmp_path / "servers.pid"
    process = _start_supervisor_process(pid_file)
    children = _children(pid_file)
    process.send_signal(signal.SIGHUP)
    assert process.wait(timeout=60) == 0
    assert _wait_until(lambda: not _group_members(children))
    assert not pid_file.exists()


def test_a_live_supervisor_is_never_killed_as_stale(tmp_path):
    pid_file = tmp_path / "servers.pid"
    process = _start_supervisor_process(pid_file)
    try:
        children = _children(pid_file)
        with pytest.raises(AlreadyRunningError):
            kill_stale(pid_file)
        assert all(_alive(pid) for pid in children)
    finally:
        process.terminate()
        process.wait(timeout=60)


def test_a_reused_pid_is_not_killed(tmp_path):
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"], start_new_session=True
    )
    try:
        pid_file = tmp_path / "servers.pid"
        pid_file.write_text(f"actions {bystander.pid} 1\n")  # same pid, older start time: not ours
        assert kill_stale(pid_file) == []
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()


def test_a_worker_without_health_url_counts_as_up_and_is_restarted_when_it_exits():
    clock = FakeClock()
    out = io.StringIO()
    worker = Service(
        name="worker", command=[sys.executable, "-c", "import time; time.sleep(1)"], health_url=""
    )
    supervisor = Supervisor([worker], cwd=".", out=out, clock=clock)
    supervisor.start()
    try:
        assert supervisor.wait_until_up(timeout=30)
        worker.process.wait(timeout=30)
        supervisor.tick()
        clock.now += 1
        supervisor.tick()
        assert supervisor.restarts("worker") == 1 and "worker exited with code 0" in out.getvalue()
    finally:
        supervisor.stop()


def test_a_service_that_cannot_be_started_is_retried_without_stopping_the_watch(tmp_path):
    clock = FakeClock()
    out = io.StringIO()
    flaky = Service(name="flaky", command=[str(tmp_path / "not-yet")], health_url="")
    supervisor = Supervisor([flaky], cwd=".", out=out, clock=clock)
    flaky.process = subprocess.Popen([sys.executable, "-c", "pass"])
    flaky.process.wait()
    try:
        supervisor.tick()  # exited: restart scheduled
        clock.now += 1
        supervisor.tick()  # the command is missing: logged, retried later
        assert "flaky could not be started (FileNotFoundError); restarting in 2 s" in out.getvalue()
        script = tmp_path / "not-yet"
        script.write_text("#!/bin/sh\nsleep 600\n")
        script.chmod(0o700)
        clock.now += 2
        supervisor.tick()
        assert flaky.process.poll() is None and supervisor.restarts("flaky") == 2
    finally:
        supervisor.stop()
