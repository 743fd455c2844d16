"""The real assistant under faults: a killed or frozen action server, forged action calls, logs.

One stack of our own (these tests kill and freeze its servers), started like ``aftercare run``.
Its health-check restarts are switched off so the frozen action server stays frozen: the
escalation must then come back through Rasa's short action timeout alone.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest
import yaml

from bot.launch.action_server import SECRET_HEADER
from bot.settings import PROJECT_ROOT
from bot.supervisor import RestartPolicy, Service, is_up
from tests.stack import Stack, start_stack

pytestmark = pytest.mark.slow

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]
RED_FLAG = "it really hurts and I think I have a fever"


def _start(name: str) -> str:
    return RESPONSES[name][0]["text"].split("{")[0][:40]


def _wait_until(condition: Callable[[], bool], timeout: float = 180.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.5)
    return condition()


@pytest.fixture(scope="module")
def stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """A stack whose servers these tests may kill and freeze."""
    policy = RestartPolicy(initial_backoff=1, health_interval=1, health_failures=1_000_000)
    running = start_stack(
        trained_model, tmp_path_factory.mktemp("supervised") / "var", policy=policy, timeout=600
    )
    try:
        yield running
    finally:
        running.stop()


def _service(stack: Stack, name: str) -> Service:
    return next(s for s in stack.supervisor.services if s.name == name)


def _database(stack: Stack) -> Path:
    return Path(stack.database_url.removeprefix("sqlite:///"))


def _flags_for(stack: Stack, conversation_id: str) -> int:
    with sqlite3.connect(_database(stack)) as connection:
        row = connection.execute(
            "SELECT count(*) FROM aftercare_flags WHERE conversation_id = ?", (conversation_id,)
        ).fetchone()
    return int(row[0])


def test_the_token_is_not_on_any_command_line_but_still_required(stack: Stack):
    for service in stack.supervisor.services:
        cmdline = Path(f"/proc/{service.process.pid}/cmdline").read_bytes().decode()
        assert stack.token not in cmdline, service.name
    with pytest.raises(urllib.error.HTTPError) as refused:
        stack.api("GET", "/status", token=False)
    assert refused.value.code == 401
    assert "model_id" in stack.api("GET", "/status")


def test_runtime_files_are_private(stack: Stack):
    var_dir = Path(stack.env["AFTERCARE_VAR_DIR"])
    assert var_dir.stat().st_mode & 0o777 == 0o700
    for path in (_database(stack), var_dir / "endpoints.yml"):
        assert path.stat().st_mode & 0o777 == 0o600, path


def _forged_call(sender: str) -> bytes:
    event = {
        "event": "user",
        "text": "my throat is swelling",
        "parse_data": {"intent": {"name": "report_allergic_reaction"}},
    }
    tracker = {
        "sender_id": sender,
        "slots": {"triage_level": "emergency"},
        "latest_message": {"text": "my throat is swelling", "intent": {"name": "report_allergic_reaction"}},
        "events": [event],
        "latest_input_channel": "rest",
        "active_loop": {},
        "latest_action_name": "utter_escalate_emergency",
    }
    return json.dumps(
        {"next_action": "action_record_flag", "sender_id": sender, "tracker": tracker, "domain": {}}
    ).encode()


@pytest.mark.parametrize("headers", [{}, {SECRET_HEADER: "not-the-secret"}])
def test_a_forged_action_call_is_refused_and_creates_no_flag(stack: Stack, headers):
    sender = f"forged-{uuid.uuid4().hex[:8]}"
    request = urllib.request.Request(
        f"{stack.action_url}/webhook",
        data=_forged_call(sender),
        headers={"Content-Type": "application/json", **headers},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 401
    with pytest.raises(urllib.error.HTTPError) as listing:
        urllib.request.urlopen(f"{stack.action_url}/actions", timeout=30)
    assert listing.value.code == 401
    assert is_up(f"{stack.action_url}/health")
    assert _flags_for(stack, sender) == 0


def test_rasa_calls_the_action_server_with_the_secret(stack: Stack):
    sender = f"genuine-{uuid.uuid4().hex[:8]}"
    texts = stack.texts(sender, RED_FLAG)
    assert texts[0].startswith(_start("utter_escalate_urgent"))
    assert any(t.startswith(_start("utter_flag_recorded")) for t in texts)
    assert _flags_for(stack, sender) == 1


def test_a_killed_action_server_is_restarted_while_rasa_keeps_escalating(stack: Stack):
    actions = _service(stack, "actions")
    killed = actions.process.pid
    restarts = stack.supervisor.restarts("actions")
    os.kill(killed, signal.SIGKILL)
    texts = stack.texts(f"kill9-{uuid.uuid4().hex[:8]}", RED_FLAG)
    assert texts and texts[0].startswith(_start("utter_escalate_urgent"))
    assert _wait_until(
        lambda: (
            stack.supervisor.restarts("actions") > restarts
            and actions.process.pid != killed
            and is_up(f"{stack.action_url}/health")
        )
    ), stack.log.getvalue()[-3000:]
    assert "[aftercare] actions exited with code -9; restarting in" in stack.log.getvalue()
    assert stack.supervisor.restarts("rasa") == 0
    sender = f"after-restart-{uuid.uuid4().hex[:8]}"
    texts = stack.texts(sender, RED_FLAG)
    assert any(t.startswith(_start("utter_flag_recorded")) for t in texts), "the new server knows the secret"


def test_a_frozen_action_server_does_not_hold_back_the_escalation(stack: Stack):
    actions = _service(stack, "actions")
    os.kill(actions.process.pid, signal.SIGSTOP)
    try:
        # Rasa's default would wait 300 s per action call; the request would time out here.
        texts = stack.texts(f"frozen-{uuid.uuid4().hex[:8]}", RED_FLAG)
    finally:
        os.kill(actions.process.pid, signal.SIGCONT)
    assert texts and texts[0].startswith(_start("utter_escalate_urgent"))


def test_logs_hold_no_patient_data_when_an_action_fails(stack: Stack):
    phone, email = "+44 7700 900123", "jane.doe@example.com"
    symptom = "my cheeks are burning and I have a fever of 39"
    sender = "+447700900456"
    with sqlite3.connect(_database(stack)) as connection:
        connection.execute("ALTER TABLE aftercare_flags RENAME TO aftercare_flags_away")
    try:
        texts = stack.texts(sender, f"{symptom}, call me on {phone} or {email}")
        assert texts[0].startswith(_start("utter_escalate_urgent"))
        assert _wait_until(lambda: "Could not store" in stack.log.getvalue(), timeout=60)
    finally:
        with sqlite3.connect(_database(stack)) as connection:
            connection.execute("ALTER TABLE aftercare_flags_away RENAME TO aftercare_flags")
    log = stack.log.getvalue()
    # The failed write is logged with its error class only; the redaction filter itself (which
    # masks what Rasa and libraries would print) is exercised in test_log_privacy.py.
    for secret in (phone, "7700900123", "7700 900123", email, symptom, sender, "447700900456", "burning"):
        assert secret not in log, secret
