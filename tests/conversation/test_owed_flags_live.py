"""Through the real servers: escalation flags are never lost and never doubled.

- the action server down: the escalation goes out, an owed flag is recorded, and the
  reconciler creates the flag and its alerts once;
- our tables unavailable at escalation time: the owed flag waits in the journal and the
  flag appears after recovery;
- action server and reconciler both running: one flag and one set of alerts per message;
- the treatment date: a routine escalation from a remembered day stores a flag, and
  "fever since yesterday" does not move the treatment date.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Tuple

import pytest
import yaml
from sqlalchemy import func, select

from bot.settings import PROJECT_ROOT
from bot.storage import make_engine, make_session_factory, migrate
from bot.storage.models import AlertOutbox, Flag
from tests.stack import Stack, start_stack

pytestmark = pytest.mark.slow

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]


def _start(name: str) -> str:
    return RESPONSES[name][0]["text"].split("{")[0][:40]


@pytest.fixture(scope="module")
def assistant(trained_model, tmp_path_factory):
    """The whole assistant (action server included), with patience for a loaded machine."""
    stack = start_stack(trained_model, tmp_path_factory.mktemp("owed-live"), timeout=900)
    try:
        yield stack
    finally:
        stack.stop()


def _flags_and_alerts(stack: Stack, sender: str) -> Tuple[list, int]:
    engine = make_engine(stack.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            flags = [
                (f.kind, f.level)
                for f in session.execute(select(Flag).where(Flag.conversation_id == sender)).scalars()
            ]
            alerts = session.execute(
                select(func.count(AlertOutbox.id))
                .join(Flag, Flag.id == AlertOutbox.flag_id)
                .where(Flag.conversation_id == sender)
            ).scalar_one()
    finally:
        engine.dispose()
    return flags, int(alerts)


def _reconcile_once(stack: Stack) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "reconcile", "--once", "--grace", "0"],
        cwd=PROJECT_ROOT,
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return result.stdout


def test_owed_flags_are_created_once_after_the_action_server_and_the_database_come_back(
    trained_model, tmp_path
):
    stack = start_stack(trained_model, tmp_path / "owed", with_actions=False, timeout=900)
    try:
        sender = f"owed-{uuid.uuid4().hex[:8]}"
        replies = stack.texts(sender, "I have a fever")
        assert replies and replies[0].startswith(_start("utter_escalate_urgent"))
        assert _flags_and_alerts(stack, sender) == ([], 0)
        _reconcile_once(stack)
        _reconcile_once(stack)
        assert _flags_and_alerts(stack, sender) == ([("triage", "urgent")], 2)

        # Our tables gone at escalation time (a database outage for the flag writer): the
        # reply still goes out, the owed flag waits in the journal, the flag comes after recovery.
        engine = make_engine(stack.database_url)
        migrate.downgrade(engine, "base")
        down = f"down-{uuid.uuid4().hex[:8]}"
        replies = stack.texts(down, "my throat is swelling and I can't swallow")
        assert replies and replies[0].startswith(_start("utter_escalate_emergency"))
        assert (tmp_path / "owed" / "owed_flags.journal").exists()
        migrate.upgrade(engine)
        engine.dispose()
        _reconcile_once(stack)
        _reconcile_once(stack)
        assert _flags_and_alerts(stack, down) == ([("triage", "emergency")], 2)
    finally:
        stack.stop()


def test_action_server_and_reconciler_together_write_one_flag_and_one_set_of_alerts(assistant):
    sender = f"both-{uuid.uuid4().hex[:8]}"
    assistant.texts(sender, "I have a fever")
    assistant.texts(sender, "I still have a fever")  # same level: no new flag, no new alert
    _reconcile_once(assistant)
    assert _flags_and_alerts(assistant, sender) == ([("triage", "urgent")], 2)


def test_a_routine_escalation_from_a_remembered_day_stores_a_flag(assistant):
    sender = f"remember-{uuid.uuid4().hex[:8]}"
    assistant.texts(sender, "I was treated 20 days ago")
    replies = assistant.texts(sender, "still peeling")
    assert replies and replies[0].startswith(_start("utter_escalate_routine"))
    assert _flags_and_alerts(assistant, sender)[0] == [("triage", "routine")]
    slots = assistant.tracker(sender)["slots"]
    assert slots["days_since_procedure"] == 20
    assert slots["triage_level"] == "routine"


def test_fever_since_yesterday_does_not_move_the_treatment_date(assistant):
    sender = f"fever-{uuid.uuid4().hex[:8]}"
    assistant.texts(sender, "I had microneedling 10 days ago")
    before = assistant.tracker(sender)["slots"]
    assistant.texts(sender, "I've had a fever since yesterday")
    after = assistant.tracker(sender)["slots"]
    assert before["days_since_procedure"] == after["days_since_procedure"] == 10
    assert after.get("treatment_date", before.get("treatment_date")) == before.get("treatment_date")
