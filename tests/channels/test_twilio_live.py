"""Twilio SMS against the real assistant: signed form posts in, Messages API calls out."""

from __future__ import annotations

import random
import uuid

import pytest

from tests.channels.conftest import PUBLIC_URL, flags_of, knowledge_answer, rendered_response, wait_until
from tests.channels.fake_providers import twilio_texts
from tests.channels.payloads import twilio_form, twilio_signed, twilio_whatsapp_location

pytestmark = pytest.mark.slow

PATH = "/webhooks/twilio/webhook"
SIGNED_URL = PUBLIC_URL + PATH


def _patient() -> str:
    return f"+4477009{random.randint(10_000, 99_999)}"


def _sid() -> str:
    return "SM" + uuid.uuid4().hex


def _deliver(channels, fields, token=None, url=SIGNED_URL):
    body, headers = twilio_signed(url, fields, token or channels.secrets["AFTERCARE_TWILIO_AUTH_TOKEN"])
    return channels.post(PATH, body, headers)


def test_a_signed_sms_gets_the_knowledge_answer(channel_stack):
    patient = _patient()
    status, twiml = _deliver(channel_stack, twilio_form(_sid(), patient, "can I peel it off?"))
    assert status == 200 and "<Response>" in twiml
    answer = knowledge_answer("ask_peel_off")
    wait_until(lambda: any(answer.split("\n")[0] in t for t in twilio_texts(channel_stack.fake, patient)))
    call = channel_stack.fake.matching(lambda c: (c.body or {}).get("To") == patient)[0]
    sid = channel_stack.secrets["AFTERCARE_TWILIO_ACCOUNT_SID"]
    assert call.path == f"/twilio/2010-04-01/Accounts/{sid}/Messages.json"
    assert call.body["From"] == channel_stack.secrets["AFTERCARE_TWILIO_NUMBER"]
    assert call.headers["authorization"].startswith("Basic ")


def test_fever_is_escalated(channel_stack):
    patient = _patient()
    _deliver(channel_stack, twilio_form(_sid(), patient, "I have a fever"))
    wait_until(
        lambda: rendered_response("utter_escalate_urgent") in twilio_texts(channel_stack.fake, patient)
    )


def test_bad_signature_is_403(channel_stack):
    patient = _patient()
    assert _deliver(channel_stack, twilio_form(_sid(), patient, "hello"), token="wrong-token")[0] == 403
    assert _deliver(channel_stack, twilio_form(_sid(), patient, "hello"), url="http://127.0.0.1/x")[0] == 403
    body, headers = twilio_signed(SIGNED_URL, twilio_form(_sid(), patient, "hello"), "x")
    del headers["X-Twilio-Signature"]
    assert channel_stack.post(PATH, body, headers)[0] == 403
    assert channel_stack.user_events(f"twilio:{patient}") == []


def test_a_repeated_message_sid_is_answered_once(channel_stack):
    patient = _patient()
    fields = twilio_form(_sid(), patient, "can I peel it off?")
    assert _deliver(channel_stack, fields)[0] == 200
    assert _deliver(channel_stack, fields)[0] == 200
    _deliver(channel_stack, twilio_form(_sid(), patient, "I have a fever"))
    assert channel_stack.settled_user_texts(f"twilio:{patient}", 2) == [
        "can I peel it off?",
        "I have a fever",
    ]
    first_line = knowledge_answer("ask_peel_off").split("\n")[0]
    assert len([t for t in twilio_texts(channel_stack.fake, patient) if first_line in t]) == 1


def test_a_whatsapp_location_without_body_gets_a_reply_and_a_flag(channel_stack):
    from bot.channels.messages import load_channel_texts

    patient = "whatsapp:" + _patient()
    assert _deliver(channel_stack, twilio_whatsapp_location(_sid(), patient))[0] == 200
    opening = load_channel_texts().media_reply.split("{")[0]
    wait_until(lambda: any(t.startswith(opening) for t in twilio_texts(channel_stack.fake, patient)))
    call = channel_stack.fake.matching(lambda c: (c.body or {}).get("To") == patient)[0]
    assert call.body["From"] == "whatsapp:" + channel_stack.secrets["AFTERCARE_TWILIO_NUMBER"]
    [flag] = wait_until(lambda: flags_of(channel_stack.stack.database_url, f"twilio:{patient}"))
    assert flag["kind"] == "handoff"
