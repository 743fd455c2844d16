"""The message-id ledger: first delivery once, per channel, and forgetting old ids."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import inspect

from bot.channels.dedup import TABLE_NAME, MessageLedger
from bot.storage import make_engine, utcnow


@pytest.fixture()
def ledger(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'channels.db'}")
    yield MessageLedger(engine)
    engine.dispose()


def test_first_delivery_is_true_once(ledger):
    assert ledger.first_delivery("whatsapp", "wamid.1")
    assert not ledger.first_delivery("whatsapp", "wamid.1")
    assert ledger.first_delivery("whatsapp", "wamid.2")


def test_the_same_id_on_another_channel_is_another_message(ledger):
    assert ledger.first_delivery("telegram", "42")
    assert ledger.first_delivery("twilio", "42")


def test_creating_the_ledger_twice_keeps_the_records(tmp_path):
    url = f"sqlite:///{tmp_path / 'channels.db'}"
    assert MessageLedger.from_url(url).first_delivery("whatsapp", "wamid.1")
    again = MessageLedger.from_url(url)
    assert not again.first_delivery("whatsapp", "wamid.1")
    assert TABLE_NAME in inspect(again.engine).get_table_names()


def test_forget_lets_a_retry_through(ledger):
    ledger.first_delivery("widget", "s:1")
    ledger.forget("widget", "s:1")
    assert ledger.first_delivery("widget", "s:1")


def test_forget_before_drops_only_old_records(ledger):
    now = utcnow()
    ledger.first_delivery("whatsapp", "old", now=now - timedelta(days=30))
    ledger.first_delivery("whatsapp", "new", now=now)
    assert ledger.forget_before(now - timedelta(days=14)) == 1
    assert ledger.first_delivery("whatsapp", "old")
    assert not ledger.first_delivery("whatsapp", "new")
