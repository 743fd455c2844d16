"""``aftercare report flags``: true/false alarms per rule and the median time to acknowledge."""

from __future__ import annotations

from datetime import timedelta

from bot.cli import main
from bot.cli.report import format_wait, table
from bot.deadlines.worker import run_once
from bot.storage import flags, make_engine, make_session_factory, migrate
from bot.storage.db import utcnow
from bot.storage.flag_report import rule_figures
from bot.storage.models import Flag
from tests.deadlines.conftest import add_flag, make_context


def _resolve(factory, flag_id, outcome, *, acknowledged_after, alarm=None):
    with factory.begin() as session:
        flag = session.get(Flag, flag_id)
        flags.acknowledge(session=session, flag=flag, by="nurse", now=flag.created_at + acknowledged_after)
        flags.resolve(session=session, flag=flag, by="nurse", outcome=outcome, alarm=alarm)


def _seed(factory, now):
    fever = [
        add_flag(factory, "urgent", conversation_id=f"telegram:{i}", rule="fever", now=now) for i in range(3)
    ]
    _resolve(factory, fever[0], "contacted_patient", acknowledged_after=timedelta(minutes=2))
    _resolve(factory, fever[1], "false_alarm", acknowledged_after=timedelta(minutes=4))
    _resolve(factory, fever[2], "other", acknowledged_after=timedelta(minutes=30), alarm="true_alarm")
    swelling = add_flag(factory, "emergency", conversation_id="telegram:9", rule="swelling", now=now)
    _resolve(factory, swelling, "other", acknowledged_after=timedelta(seconds=50))
    add_flag(factory, "urgent", conversation_id="telegram:10", rule="swelling", now=now)  # never acknowledged
    return now


def test_the_figures_per_rule(session_factory, webhook):
    now = _seed(session_factory, utcnow() - timedelta(hours=2))
    # The unacknowledged swelling flag misses its deadline.
    run_once(session_factory, make_context(webhook.url), now=utcnow())
    with session_factory.begin() as session:
        figures = {item.rule: item for item in rule_figures(session=session, since=now - timedelta(days=2))}
    fever, swelling = figures["fever"], figures["swelling"]
    assert (fever.flags, fever.true_alarms, fever.false_alarms, fever.unjudged) == (3, 2, 1, 0)
    assert fever.median_to_acknowledge == timedelta(minutes=4)
    assert fever.false_alarm_rate == 1 / 3 and fever.missed_deadlines == 0
    assert (swelling.flags, swelling.true_alarms, swelling.false_alarms, swelling.unjudged) == (2, 0, 0, 1)
    assert swelling.median_to_acknowledge == timedelta(seconds=50) and swelling.missed_deadlines == 1
    with session_factory.begin() as session:
        assert rule_figures(session=session, since=utcnow()) == []
    lines = table(list(figures.values()))
    assert lines[0].split()[:2] == ["rule", "flags"]
    assert lines[1].split() == ["fever", "3", "2", "1", "0", "33%", "3", "4m", "00s", "0"]


def test_waits_are_printed_readably():
    assert format_wait(None) == "-"
    assert format_wait(timedelta(seconds=65)) == "1m 05s"
    assert format_wait(timedelta(hours=2, minutes=3)) == "2h 03m"


def test_the_command_prints_the_report(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    engine = make_engine(url)
    try:
        migrate.upgrade(engine)
        _seed(make_session_factory(engine), utcnow() - timedelta(hours=1))
    finally:
        engine.dispose()
    monkeypatch.setenv("AFTERCARE_DATABASE_URL", url)
    assert main(["report", "flags", "--since", "30d"]) == 0
    out = capsys.readouterr().out
    assert "fever" in out and "swelling" in out and "median to ack" in out
    assert main(["report", "flags", "--since", "soon"]) == 2
