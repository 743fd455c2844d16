"""The provider base class: credentials declared once, replies rendered into calls, ids checked."""

from __future__ import annotations

import pytest

from bot.channels.dispatch import Inbound, reply
from bot.channels.http import RequestError
from bot.channels.telegram import TelegramInput
from bot.channels.twilio_sms import TwilioInput
from bot.channels.whatsapp import WhatsAppInput

WHATSAPP = {"verify_token": "v", "app_secret": "a", "access_token": "t", "phone_number_id": "1065"}
TELEGRAM = {"access_token": "123:abc", "secret_token": "s"}
TWILIO = {"account_sid": "AC1", "auth_token": "tw", "twilio_number": "+15005550006"}


@pytest.mark.parametrize(
    ("connector", "config"), [(WhatsAppInput, WHATSAPP), (TelegramInput, TELEGRAM), (TwilioInput, TWILIO)]
)
def test_each_required_credential_is_checked(connector, config):
    connector(config)
    for key in connector.REQUIRED:
        with pytest.raises(ValueError, match=key):
            connector({**config, key: ""})


def test_optional_settings_have_defaults():
    assert WhatsAppInput(WHATSAPP).config["api_base"].startswith("https://graph.facebook.com")
    assert TwilioInput(TWILIO).config["public_url"] == ""


def test_long_text_is_split_at_the_provider_limit():
    calls = TwilioInput(TWILIO).render("+447700900123", reply("word " * 700))
    assert len(calls) == 3
    assert all(len(call["body"]["Body"]) <= TwilioInput.MAX_TEXT for call in calls)
    assert {call["recipient"] for call in calls} == {"+447700900123"}


def test_buttons_become_provider_buttons_or_lines_of_text():
    buttons = [{"title": "Yes"}, {"title": "No"}]
    [wa] = WhatsAppInput(WHATSAPP).render("447700900123", reply("Pick", buttons=buttons))
    assert wa["body"]["type"] == "interactive"
    [tg] = TelegramInput(TELEGRAM).render("42", reply("Pick", buttons=buttons))
    assert tg["body"]["reply_markup"]["inline_keyboard"] == [
        [{"text": "Yes", "callback_data": "Yes"}],
        [{"text": "No", "callback_data": "No"}],
    ]
    [sms] = TwilioInput(TWILIO).render("+447700900123", reply("Pick", buttons=buttons))
    assert sms["body"]["Body"] == "Pick\n• Yes\n• No"


def test_telegram_acknowledges_button_taps_at_once():
    tap = Inbound("1:5", "42", text="Yes", metadata={"callback_query_id": "cb5"})
    [ack] = TelegramInput(TELEGRAM).acknowledgements(tap)
    assert (ack["method"], ack["body"]) == ("answerCallbackQuery", {"callback_query_id": "cb5"})
    assert TelegramInput(TELEGRAM).acknowledgements(Inbound("1:6", "42", text="hi")) == []


@pytest.mark.parametrize("sender", ["\ud800", "a\x00b", "line\nbreak", "x" * 201, " 4477", ""])
def test_unusable_sender_ids_are_400(sender):
    class Fixed(WhatsAppInput):
        def read(self, request, body):
            return [Inbound("wamid.1", sender, text="hi")]

    with pytest.raises(RequestError) as error:
        Fixed(WHATSAPP).inbound(None, b"")
    assert error.value.status == 400
