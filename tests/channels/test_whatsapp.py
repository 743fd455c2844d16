"""WhatsApp Cloud API: subscription check, signed deliveries, payload parsing, outgoing payloads."""

from __future__ import annotations

import json

import pytest

from bot.channels.http import RequestError
from bot.channels.whatsapp import (
    buttons_payload,
    parse_webhook,
    read_webhook,
    subscription_challenge,
    text_payload,
)
from tests.channels.payloads import (
    PHONE_NUMBER_ID,
    signed,
    whatsapp_bsuid_text,
    whatsapp_button_reply,
    whatsapp_event,
    whatsapp_image,
    whatsapp_status,
    whatsapp_text,
    whatsapp_unsupported,
    whatsapp_voice,
)

SECRET = "meta-app-secret"
PATIENT = "447700900123"


def _read(payload, secret=SECRET):
    body, headers = signed(payload, secret)
    return read_webhook({k.lower(): v for k, v in headers.items()}, body, SECRET, PHONE_NUMBER_ID)


@pytest.mark.parametrize(
    ("query", "answer"),
    [
        ({"hub.mode": "subscribe", "hub.verify_token": "vt", "hub.challenge": "1158201444"}, "1158201444"),
        ({"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1158201444"}, None),
        ({"hub.mode": "unsubscribe", "hub.verify_token": "vt", "hub.challenge": "1158201444"}, None),
        ({"hub.mode": "subscribe", "hub.challenge": "1158201444"}, None),
        ({"hub.mode": "subscribe", "hub.verify_token": "vt"}, None),
    ],
)
def test_subscription_challenge(query, answer):
    assert subscription_challenge(query, "vt") == answer


def test_text_message():
    [item] = _read(whatsapp_event([whatsapp_text(PATIENT, "wamid.A1", "can I peel it off?")]))
    assert (item.message_id, item.sender_id, item.text, item.media) == (
        "wamid.A1",
        PATIENT,
        "can I peel it off?",
        None,
    )


def test_button_reply_arrives_as_its_title():
    [item] = _read(whatsapp_event([whatsapp_button_reply(PATIENT, "wamid.B1", "Is peeling normal?")]))
    assert item.text == "Is peeling normal?"


def test_media_is_named_and_keeps_its_caption():
    [photo] = _read(whatsapp_event([whatsapp_image(PATIENT, "wamid.C1", caption="it is red")]))
    [voice] = _read(whatsapp_event([whatsapp_voice(PATIENT, "wamid.C2")]))
    assert (photo.media, photo.text) == ("image", "it is red")
    assert (voice.media, voice.text) == ("voice", None)


def test_unknown_message_types_are_treated_as_unreadable_media():
    [item] = _read(whatsapp_event([whatsapp_unsupported(PATIENT, "wamid.D1")]))
    assert item.media == "other"  # "an attachment", never "a photo"
    assert item.text is None


def test_a_patient_known_only_by_business_scoped_id_is_read_and_answered_by_it():
    [item] = _read(whatsapp_bsuid_text("US.13491208655302741918", "wamid.U1", "I have a fever"))
    assert (item.sender_id, item.text) == ("US.13491208655302741918", "I have a fever")
    assert text_payload(item.sender_id, "hi")["recipient"] == "US.13491208655302741918"
    assert "to" not in text_payload(item.sender_id, "hi")


def test_reactions_need_no_answer():
    message = {"from": PATIENT, "id": "wamid.E1", "type": "reaction", "reaction": {"emoji": "👍"}}
    assert _read(whatsapp_event([message])) == []


def test_status_callbacks_yield_no_messages():
    assert _read(whatsapp_status(PATIENT, "wamid.F1")) == []


def test_events_for_another_number_are_left_alone():
    payload = whatsapp_event([whatsapp_text(PATIENT, "wamid.G1", "hello")], phone_number_id="999")
    assert _read(payload) == []


def test_several_messages_in_one_delivery():
    messages = [whatsapp_text(PATIENT, "wamid.H1", "hello"), whatsapp_text(PATIENT, "wamid.H2", "peeling?")]
    assert [item.message_id for item in _read(whatsapp_event(messages))] == ["wamid.H1", "wamid.H2"]


def test_bad_signature_is_403():
    with pytest.raises(RequestError) as error:
        _read(whatsapp_event([whatsapp_text(PATIENT, "wamid.I1", "hi")]), secret="not-the-secret")
    assert error.value.status == 403


def test_signature_is_checked_before_the_body_is_parsed():
    with pytest.raises(RequestError) as error:
        read_webhook({}, b"{not json", SECRET, PHONE_NUMBER_ID)
    assert error.value.status == 403


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[1, 2]", json.dumps({"object": "page", "entry": []}).encode(), b'{"object": "x"}'],
)
def test_malformed_signed_bodies_are_400(body):
    from bot.channels.security import meta_signature

    with pytest.raises(RequestError) as error:
        read_webhook({"x-hub-signature-256": meta_signature(body, SECRET)}, body, SECRET, PHONE_NUMBER_ID)
    assert error.value.status == 400


def test_outgoing_payloads_follow_the_graph_api():
    assert text_payload(PATIENT, "hi") == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": PATIENT,
        "type": "text",
        "text": {"preview_url": False, "body": "hi"},
    }
    buttons = buttons_payload(PATIENT, "Pick one", ["Yes", "No"])["interactive"]
    assert buttons["type"] == "button"
    assert [b["reply"]["title"] for b in buttons["action"]["buttons"]] == ["Yes", "No"]


def test_parse_refuses_entries_without_changes():
    with pytest.raises(RequestError):
        parse_webhook({"object": "whatsapp_business_account", "entry": [{"id": "1"}]}, PHONE_NUMBER_ID)
