"""Telegram against the real assistant: secret-token webhooks in, Bot API calls out."""

from __future__ import annotations

import itertools
import json
import random

import pytest

from bot.channels.messages import load_channel_texts
from tests.channels.conftest import flags_of, knowledge_answer, rendered_response, wait_until
from tests.channels.fake_providers import telegram_texts
from tests.channels.payloads import (
    telegram_callback,
    telegram_callback_without_message,
    telegram_edited,
    telegram_photo,
    telegram_text,
)

pytestmark = pytest.mark.slow

WEBHOOK = "/webhooks/telegram/webhook"
_update_ids = itertools.count(random.randint(10_000, 10_000_000) * 100)


def _chat() -> int:
    return random.randint(100_000_000, 999_999_999)


def _deliver(channels, update, secret=None):
    headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": secret or channels.secrets["AFTERCARE_TELEGRAM_SECRET_TOKEN"],
    }
    return channels.post(WEBHOOK, json.dumps(update).encode(), headers)


def test_a_question_gets_the_knowledge_answer_by_send_message(channel_stack):
    chat = _chat()
    assert _deliver(channel_stack, telegram_text(next(_update_ids), chat, "can I peel it off?")) == (
        200,
        "ok",
    )
    answer = knowledge_answer("ask_peel_off")
    wait_until(lambda: any(answer in t for t in telegram_texts(channel_stack.fake, str(chat))))
    token = channel_stack.secrets["AFTERCARE_TELEGRAM_TOKEN"]
    calls = channel_stack.fake.matching(lambda c: str((c.body or {}).get("chat_id")) == str(chat))
    assert all(c.path == f"/telegram/bot{token}/sendMessage" for c in calls)
    assert channel_stack.fake.matching(lambda c: c.method == "getMe") == []


def test_fever_is_escalated_and_flagged_with_the_chat_id(channel_stack):
    chat = _chat()
    _deliver(channel_stack, telegram_text(next(_update_ids), chat, "I have a fever"))
    urgent = rendered_response("utter_escalate_urgent")
    wait_until(lambda: urgent in telegram_texts(channel_stack.fake, str(chat)))
    flags = wait_until(lambda: flags_of(channel_stack.stack.database_url, f"telegram:{chat}"))
    assert [(f["kind"], f["level"], f["channel"]) for f in flags] == [("triage", "urgent", "telegram")]


def test_a_button_tap_is_answered_and_read_as_text(channel_stack):
    chat = _chat()
    update = telegram_callback(next(_update_ids), chat, "can I peel it off?")
    _deliver(channel_stack, update)
    answer = knowledge_answer("ask_peel_off")
    wait_until(lambda: any(answer in t for t in telegram_texts(channel_stack.fake, str(chat))))
    callback_id = update["callback_query"]["id"]
    assert channel_stack.fake.matching(
        lambda c: c.method == "answerCallbackQuery" and (c.body or {}).get("callback_query_id") == callback_id
    )


def test_a_redelivered_update_is_answered_once(channel_stack):
    chat = _chat()
    update = telegram_text(next(_update_ids), chat, "can I peel it off?")
    for _ in range(3):
        assert _deliver(channel_stack, update)[0] == 200
    _deliver(channel_stack, telegram_text(next(_update_ids), chat, "I have a fever"))
    # Messages of one chat are handled in order: once the second turn is over, the first
    # has been handled as often as it ever will be.
    assert channel_stack.settled_user_texts(f"telegram:{chat}", 2) == ["can I peel it off?", "I have a fever"]
    answer = knowledge_answer("ask_peel_off")
    assert len([t for t in telegram_texts(channel_stack.fake, str(chat)) if answer in t]) == 1


def test_a_voice_message_or_photo_gets_a_request_for_words_and_a_flag(channel_stack):
    chat = _chat()
    _deliver(channel_stack, telegram_photo(next(_update_ids), chat))
    opening = load_channel_texts().media_reply.split("{")[0]
    wait_until(lambda: any(t.startswith(opening) for t in telegram_texts(channel_stack.fake, str(chat))))
    flags = wait_until(lambda: flags_of(channel_stack.stack.database_url, f"telegram:{chat}"))
    assert flags[0]["kind"] == "handoff"


def test_wrong_or_missing_secret_token_is_403(channel_stack):
    chat = _chat()
    update = telegram_text(next(_update_ids), chat, "hello")
    assert _deliver(channel_stack, update, secret="guessed")[0] == 403
    body = json.dumps(update).encode()
    assert channel_stack.post(WEBHOOK, body, {"Content-Type": "application/json"})[0] == 403
    assert channel_stack.user_events(f"telegram:{chat}") == []


def test_malformed_json_is_400_and_oversized_is_413(channel_stack):
    headers = {"X-Telegram-Bot-Api-Secret-Token": channel_stack.secrets["AFTERCARE_TELEGRAM_SECRET_TOKEN"]}
    assert channel_stack.post(WEBHOOK, b"{broken", headers)[0] == 400
    big = telegram_text(next(_update_ids), _chat(), "x" * 70_000)
    assert _deliver(channel_stack, big)[0] == 413


def test_intent_commands_are_read_as_plain_text(channel_stack):
    chat = _chat()
    _deliver(channel_stack, telegram_text(next(_update_ids), chat, "/report_allergic_reaction"))
    wait_until(lambda: telegram_texts(channel_stack.fake, str(chat)))
    latest = channel_stack.tracker(f"telegram:{chat}")["latest_message"]
    assert latest["text"] == "report_allergic_reaction"
    assert len(latest["intent_ranking"]) > 1


def test_an_edited_message_is_triaged_as_a_new_message(channel_stack):
    chat = _chat()
    _deliver(channel_stack, telegram_text(next(_update_ids), chat, "is peeling normal?"))
    edit = telegram_edited(next(_update_ids), chat, "actually I have a fever and my lips are swelling")
    assert _deliver(channel_stack, edit)[0] == 200
    emergency = rendered_response("utter_escalate_emergency")
    wait_until(lambda: emergency in telegram_texts(channel_stack.fake, str(chat)))
    assert channel_stack.tracker(f"telegram:{chat}")["slots"]["triage_level"] == "emergency"


def test_a_tap_on_a_button_whose_message_is_gone_stops_the_spinner(channel_stack):
    update = telegram_callback_without_message(next(_update_ids), _chat(), "yes")
    assert _deliver(channel_stack, update)[0] == 200
    callback_id = update["callback_query"]["id"]
    channel_stack.fake.wait_for(
        lambda c: c.method == "answerCallbackQuery" and (c.body or {}).get("callback_query_id") == callback_id
    )
