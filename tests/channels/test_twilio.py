"""Twilio: X-Twilio-Signature with Twilio's documented test vector, and message parsing."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from twilio.request_validator import RequestValidator

from bot.channels.http import RequestError
from bot.channels.twilio_sms import FormParams, parse_form, parse_message, read_webhook, signature_valid
from tests.channels.payloads import twilio_form, twilio_signed, twilio_whatsapp_location

# The example in Twilio's security documentation ("Validating Signatures from Twilio").
DOC_TOKEN = "12345"
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
}
DOC_SIGNATURE = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
WEBHOOK = "https://assistant.example.org/webhooks/twilio/webhook"
TOKEN = "twilio-auth-token"


def test_the_documented_vector_holds_for_twilios_own_validator():
    assert RequestValidator(DOC_TOKEN).compute_signature(DOC_URL, DOC_PARAMS) == DOC_SIGNATURE


def test_the_documented_vector_passes_our_check():
    params = parse_form(urlencode(DOC_PARAMS).encode())
    assert signature_valid(DOC_TOKEN, DOC_URL, params, DOC_SIGNATURE)


@pytest.mark.parametrize(
    ("token", "url", "signature"),
    [
        ("54321", DOC_URL, DOC_SIGNATURE),
        (DOC_TOKEN, "https://mycompany.com/myapp.php?foo=1&bar=3", DOC_SIGNATURE),
        (DOC_TOKEN, DOC_URL, "1/KCTR6DLpKmkAf8muzZqo1nDgQ="),
        (DOC_TOKEN, DOC_URL, ""),
        (DOC_TOKEN, DOC_URL, None),
    ],
)
def test_anything_else_fails(token, url, signature):
    assert not signature_valid(token, url, parse_form(urlencode(DOC_PARAMS).encode()), signature)


def test_a_changed_parameter_fails():
    changed = dict(DOC_PARAMS, Digits="4321")
    assert not signature_valid(DOC_TOKEN, DOC_URL, parse_form(urlencode(changed).encode()), DOC_SIGNATURE)


def test_signed_delivery_is_read():
    body, headers = twilio_signed(WEBHOOK, twilio_form("SM1", "+447700900123", "is peeling normal?"), TOKEN)
    [item] = read_webhook(WEBHOOK, {k.lower(): v for k, v in headers.items()}, body, TOKEN)
    assert (item.message_id, item.sender_id, item.text) == ("SM1", "+447700900123", "is peeling normal?")


def test_bad_signature_is_403():
    body, headers = twilio_signed(WEBHOOK, twilio_form("SM2", "+447700900123", "hi"), "another-token")
    with pytest.raises(RequestError) as error:
        read_webhook(WEBHOOK, {k.lower(): v for k, v in headers.items()}, body, TOKEN)
    assert error.value.status == 403


def test_signature_for_another_url_is_403():
    body, headers = twilio_signed("https://evil.example/hook", twilio_form("SM3", "+1555", "hi"), TOKEN)
    with pytest.raises(RequestError) as error:
        read_webhook(WEBHOOK, {k.lower(): v for k, v in headers.items()}, body, TOKEN)
    assert error.value.status == 403


def test_mms_is_media_with_its_caption():
    fields = twilio_form("MM1", "+447700900123", "look", NumMedia="1", MediaContentType0="image/jpeg")
    [item] = parse_message(FormParams(parse_form(urlencode(fields).encode())))
    assert (item.media, item.text) == ("image", "look")


def test_form_without_message_fields_is_400():
    with pytest.raises(RequestError) as error:
        parse_message(parse_form(b"foo=bar"))
    assert error.value.status == 400


def test_non_text_body_is_400():
    with pytest.raises(RequestError) as error:
        parse_form(b"\xff\xfe")
    assert error.value.status == 400


def test_a_whatsapp_location_without_body_is_answered_as_media():
    fields = twilio_whatsapp_location("SM9", "whatsapp:+447700900123")
    assert fields["Body"] == ""
    [item] = parse_message(parse_form(urlencode(fields).encode()))
    assert (item.sender_id, item.media, item.text) == ("whatsapp:+447700900123", "location", None)
