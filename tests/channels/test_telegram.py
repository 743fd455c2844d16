"""Telegram: secret-token check, update parsing, callback data."""

from __future__ import annotations

import json

import pytest

from bot.channels.http import RequestError
from bot.channels.telegram import callback_data, parse_update, read_webhook
from tests.channels.payloads import (
    telegram_callback,
    telegram_callback_without_message,
    telegram_edited,
    telegram_photo,
    telegram_text,
    telegram_voice,
)

SECRET = "tg-secret_token-1"
BOT = "123456"
CHAT = 987654321


def _read(update, secret=SECRET):
    body = json.dumps(update).encode()
    return read_webhook({"x-telegram-bot-api-secret-token": secret}, body, SECRET, BOT, "Hello")


def test_text_message_from_a_private_chat():
    [item] = _read(telegram_text(1001, CHAT, "can I wear makeup?"))
    assert (item.message_id, item.sender_id, item.text, item.media) == (
        f"{BOT}:1001",
        str(CHAT),
        "can I wear makeup?",
        None,
    )


@pytest.mark.parametrize("start", ["/start", "/start@AftercareBot", "/start deep-link"])
def test_start_command_becomes_a_greeting(start):
    [item] = _read(telegram_text(1002, CHAT, start))
    assert item.text == "Hello"


def test_other_commands_stay_text_for_the_neutraliser():
    [item] = _read(telegram_text(1003, CHAT, "/report_fever"))
    assert item.text == "/report_fever"


def test_group_chats_are_not_answered():
    assert _read(telegram_text(1004, -100123, "hello", chat_type="group")) == []


def test_button_tap_arrives_as_text_with_its_callback_id():
    [item] = _read(telegram_callback(1005, CHAT, "Is peeling normal?"))
    assert item.text == "Is peeling normal?"
    assert item.metadata["callback_query_id"] == "cb1005"


def test_photo_and_voice_are_media():
    [photo] = _read(telegram_photo(1006, CHAT, caption="red spots"))
    [voice] = _read(telegram_voice(1007, CHAT))
    assert (photo.media, photo.text) == ("image", "red spots")
    assert (voice.media, voice.text) == ("voice", None)


def test_an_edited_message_is_read_as_a_new_message():
    [edit] = _read(telegram_edited(1008, CHAT, "actually I have a fever and my lips are swelling"))
    assert (edit.message_id, edit.sender_id, edit.text) == (
        "123456:1008",
        str(CHAT),
        "actually I have a fever and my lips are swelling",
    )


def test_a_callback_without_its_message_is_still_answered():
    [tap] = _read(telegram_callback_without_message(1010, CHAT, "yes"))
    assert (tap.sender_id, tap.text, tap.media) == (str(CHAT), None, None)
    assert tap.metadata == {"callback_query_id": "cb1010"}


def test_other_updates_are_ignored():
    assert _read({"update_id": 1011, "my_chat_member": {"chat": {"id": CHAT, "type": "private"}}}) == []


@pytest.mark.parametrize("secret", ["wrong", "", SECRET.upper()])
def test_wrong_secret_token_is_403(secret):
    with pytest.raises(RequestError) as error:
        _read(telegram_text(1009, CHAT, "hi"), secret=secret)
    assert error.value.status == 403


def test_missing_secret_header_is_403():
    with pytest.raises(RequestError) as error:
        read_webhook({}, json.dumps(telegram_text(1010, CHAT, "hi")).encode(), SECRET, BOT, "Hello")
    assert error.value.status == 403


@pytest.mark.parametrize("body", [b"{oops", b"[]", b'{"message": {}}', b'{"update_id": "7"}'])
def test_malformed_bodies_are_400(body):
    with pytest.raises(RequestError) as error:
        read_webhook({"x-telegram-bot-api-secret-token": SECRET}, body, SECRET, BOT, "Hello")
    assert error.value.status == 400


def test_update_ids_are_per_bot():
    assert parse_update(telegram_text(5, CHAT, "hi"), "111", "Hello")[0].message_id != (
        parse_update(telegram_text(5, CHAT, "hi"), "222", "Hello")[0].message_id
    )


def test_callback_data_fits_telegrams_limit():
    long_title = "é" * 40
    assert len(callback_data(long_title).encode("utf-8")) <= 64
    assert callback_data("Yes") == "Yes"
