"""WhatsApp Cloud API against the real assistant: signed webhooks in, Graph API calls out."""

from __future__ import annotations

import json
import urllib.parse
import uuid

import pytest

from tests.channels.conftest import flags_of, knowledge_answer, pending_inbox, rendered_response, wait_until
from tests.channels.fake_providers import whatsapp_texts
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
)

pytestmark = pytest.mark.slow

WEBHOOK = "/webhooks/whatsapp/webhook"


def _patient() -> str:
    return "4477009" + str(uuid.uuid4().int)[:5]


def _conversation(patient: str) -> str:
    return f"whatsapp:{patient}"


def _wamid() -> str:
    return f"wamid.{uuid.uuid4().hex}"


def _deliver(channels, payload, secret=None):
    body, headers = signed(payload, secret or channels.secrets["AFTERCARE_WHATSAPP_APP_SECRET"])
    return channels.post(WEBHOOK, body, headers)


def _replies_containing(channels, patient, text):
    return [t for t in whatsapp_texts(channels.fake, patient) if text in t]


def test_meta_verifies_the_webhook_with_our_token(channel_stack):
    query = {"hub.mode": "subscribe", "hub.verify_token": "verify-me-please", "hub.challenge": "1158201444"}
    assert channel_stack.get(f"{WEBHOOK}?{urllib.parse.urlencode(query)}") == (200, "1158201444")
    query["hub.verify_token"] = "guess"
    assert channel_stack.get(f"{WEBHOOK}?{urllib.parse.urlencode(query)}")[0] == 403


def test_a_question_gets_the_knowledge_answer_through_the_graph_api(channel_stack):
    patient = _patient()
    status, _ = _deliver(
        channel_stack, whatsapp_event([whatsapp_text(patient, _wamid(), "can I peel it off?")])
    )
    assert status == 200
    answer = knowledge_answer("ask_peel_off")
    wait_until(lambda: _replies_containing(channel_stack, patient, answer))
    call = channel_stack.fake.matching(lambda c: (c.body or {}).get("to") == patient)[0]
    assert call.path == f"/graph/{PHONE_NUMBER_ID}/messages"
    assert (
        call.headers["authorization"] == "Bearer " + channel_stack.secrets["AFTERCARE_WHATSAPP_ACCESS_TOKEN"]
    )
    [user] = channel_stack.user_events(_conversation(patient))
    assert user["input_channel"] == "whatsapp"


def test_fever_is_escalated_and_flagged_with_the_phone_number(channel_stack):
    patient = _patient()
    _deliver(channel_stack, whatsapp_event([whatsapp_text(patient, _wamid(), "I have a fever")]))
    urgent = rendered_response("utter_escalate_urgent")
    wait_until(lambda: urgent in whatsapp_texts(channel_stack.fake, patient))
    assert channel_stack.tracker(_conversation(patient))["slots"]["triage_level"] == "urgent"
    flags = wait_until(lambda: flags_of(channel_stack.stack.database_url, _conversation(patient)))
    assert [(f["kind"], f["level"], f["channel"]) for f in flags] == [("triage", "urgent", "whatsapp")]


def test_a_redelivered_message_is_answered_once(channel_stack):
    patient = _patient()
    first = whatsapp_event([whatsapp_text(patient, _wamid(), "can I peel it off?")])
    assert _deliver(channel_stack, first)[0] == 200
    assert _deliver(channel_stack, first)[0] == 200
    assert _deliver(channel_stack, first)[0] == 200
    # Messages of one patient are handled in order: once the second turn is over, the
    # first has been handled as often as it ever will be.
    _deliver(channel_stack, whatsapp_event([whatsapp_text(patient, _wamid(), "I have a fever")]))
    assert channel_stack.settled_user_texts(_conversation(patient), 2) == [
        "can I peel it off?",
        "I have a fever",
    ]
    assert len(_replies_containing(channel_stack, patient, knowledge_answer("ask_peel_off"))) == 1


def test_button_replies_are_read_as_their_title(channel_stack):
    patient = _patient()
    _deliver(channel_stack, whatsapp_event([whatsapp_button_reply(patient, _wamid(), "can I peel it off?")]))
    wait_until(lambda: _replies_containing(channel_stack, patient, knowledge_answer("ask_peel_off")))


def test_a_photo_gets_a_request_for_words_and_a_staff_flag(channel_stack):
    from bot.channels.messages import load_channel_texts

    patient = _patient()
    _deliver(channel_stack, whatsapp_event([whatsapp_image(patient, _wamid())]))
    opening = load_channel_texts().media_reply.split("{")[0]
    wait_until(lambda: _replies_containing(channel_stack, patient, opening))
    flags = wait_until(lambda: flags_of(channel_stack.stack.database_url, _conversation(patient)))
    assert flags == [
        {"kind": "handoff", "level": "handoff", "channel": "whatsapp", "channel_user_id": patient}
    ]


def test_status_callbacks_are_acknowledged_and_ignored(channel_stack):
    patient = _patient()
    assert _deliver(channel_stack, whatsapp_status(patient, _wamid())) == (200, "ok")
    assert channel_stack.user_events(_conversation(patient)) == []


def test_bad_or_missing_signatures_are_403(channel_stack):
    patient = _patient()
    payload = whatsapp_event([whatsapp_text(patient, _wamid(), "hello")])
    assert _deliver(channel_stack, payload, secret="not-the-app-secret")[0] == 403
    body = json.dumps(payload).encode()
    assert channel_stack.post(WEBHOOK, body, {"Content-Type": "application/json"})[0] == 403
    assert channel_stack.user_events(_conversation(patient)) == []


def test_malformed_json_is_400(channel_stack):
    body = b'{"object": "whatsapp_business_account", "entry": ['
    from bot.channels.security import meta_signature

    headers = {
        "X-Hub-Signature-256": meta_signature(body, channel_stack.secrets["AFTERCARE_WHATSAPP_APP_SECRET"])
    }
    assert channel_stack.post(WEBHOOK, body, headers)[0] == 400


def test_oversized_bodies_are_413(channel_stack):
    patient = _patient()
    payload = whatsapp_event([whatsapp_text(patient, _wamid(), "x" * 70_000)])
    assert _deliver(channel_stack, payload)[0] == 413


def test_intent_commands_are_read_as_plain_text(channel_stack):
    patient = _patient()
    text = '/ask_peeling{"procedure": "INJECTED"}'
    _deliver(channel_stack, whatsapp_event([whatsapp_text(patient, _wamid(), text)]))
    wait_until(lambda: whatsapp_texts(channel_stack.fake, patient))
    tracker = wait_until(lambda: channel_stack.tracker(_conversation(patient)))
    latest = tracker["latest_message"]
    assert not latest["text"].startswith("/")
    assert len(latest["intent_ranking"]) > 1, "the intent came from the classifier, not from the command"
    assert all(entity.get("value") != "INJECTED" for entity in latest["entities"])
    assert tracker["slots"].get("procedure") != "INJECTED"


def test_oversized_chunked_bodies_are_413_without_a_length(channel_stack):
    import urllib.error
    import urllib.request

    chunks = iter([b'{"object": "whatsapp_business_account", "entry": ["'] + [b"x" * 8192] * 10 + [b'"]}'])
    request = urllib.request.Request(
        f"{channel_stack.url}{WEBHOOK}",
        data=chunks,
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request, timeout=60)
    assert error.value.code == 413


def test_a_patient_known_only_by_business_scoped_id_gets_the_escalation(channel_stack):
    user_id = "GB." + str(uuid.uuid4().int)[:18]
    _deliver(channel_stack, whatsapp_bsuid_text(user_id, _wamid(), "I have a fever"))
    urgent = rendered_response("utter_escalate_urgent")
    calls = channel_stack.fake.wait_for(
        lambda c: (
            (c.body or {}).get("recipient") == user_id and (c.body.get("text") or {}).get("body") == urgent
        )
    )
    assert "to" not in calls[0].body
    assert channel_stack.tracker(_conversation(user_id))["slots"]["triage_level"] == "urgent"


def test_an_unsupported_message_is_not_answered_as_a_photo(channel_stack):
    from bot.channels.messages import load_channel_texts

    texts = load_channel_texts()
    patient = _patient()
    _deliver(channel_stack, whatsapp_event([whatsapp_unsupported(patient, _wamid())]))
    opening = texts.media_reply.split("{")[0]
    wait_until(lambda: _replies_containing(channel_stack, patient, opening))
    [flag] = wait_until(lambda: flags_of(channel_stack.stack.database_url, _conversation(patient)))
    assert flag["kind"] == "handoff"
    assert channel_stack.user_events(_conversation(patient)) == []


def test_a_red_flag_at_character_5000_still_escalates_with_a_request_for_a_shorter_message(channel_stack):
    from bot.channels.messages import load_channel_texts

    patient = _patient()
    text = "My skin is a bit dry and I wonder which cream is best. " * 95 + "Also my lips are swelling up."
    assert text.index("lips") > 5000
    assert _deliver(channel_stack, whatsapp_event([whatsapp_text(patient, _wamid(), text)]))[0] == 200
    emergency = rendered_response("utter_escalate_emergency")
    wait_until(lambda: load_channel_texts().too_long_reply in whatsapp_texts(channel_stack.fake, patient))
    sent = whatsapp_texts(channel_stack.fake, patient)
    assert sent[0] == emergency, "the escalation goes out first"
    [user] = channel_stack.user_events(_conversation(patient))
    assert len(user["text"]) <= 4096
    assert channel_stack.tracker(_conversation(patient))["slots"]["triage_level"] == "emergency"


@pytest.mark.parametrize("sender", ["\ud800", "44770\u0000", "4" * 300])
def test_unusable_sender_ids_are_400(channel_stack, sender):
    # json.dumps escapes them ("\\ud800"), as a hostile but correctly signed body would.
    assert _deliver(channel_stack, whatsapp_event([whatsapp_text(sender, _wamid(), "hi")]))[0] == 400
    patient = _patient()
    _deliver(channel_stack, whatsapp_event([whatsapp_text(patient, _wamid(), "can I peel it off?")]))
    wait_until(lambda: _replies_containing(channel_stack, patient, knowledge_answer("ask_peel_off")))


def test_a_message_left_pending_by_a_crash_is_replayed_and_answered(channel_stack):
    """As if Rasa died right after acknowledging: the entry is in the inbox, nothing else happened."""
    from bot.channels.dispatch import Dispatcher, Inbound

    patient, wamid = _patient(), _wamid()
    Dispatcher("whatsapp", database_url=channel_stack.stack.database_url)._record(
        [Inbound(wamid, patient, text="I have a fever")]
    )
    urgent = rendered_response("utter_escalate_urgent")
    wait_until(lambda: urgent in whatsapp_texts(channel_stack.fake, patient))
    wait_until(lambda: pending_inbox(channel_stack.stack.database_url, "whatsapp", wamid) == "done")
    assert len(channel_stack.user_events(_conversation(patient))) == 1


def test_the_same_id_on_two_channels_is_two_conversations(channel_stack):
    import json as _json

    number = _patient()
    _deliver(channel_stack, whatsapp_event([whatsapp_text(number, _wamid(), "I have a fever")]))
    update = {
        "update_id": int(number[-7:]),
        "message": {
            "message_id": 1,
            "from": {"id": int(number), "is_bot": False, "first_name": "Sam"},
            "chat": {"id": int(number), "first_name": "Sam", "type": "private"},
            "date": 1,
            "text": "can I peel it off?",
        },
    }
    headers = {"X-Telegram-Bot-Api-Secret-Token": channel_stack.secrets["AFTERCARE_TELEGRAM_SECRET_TOKEN"]}
    channel_stack.post("/webhooks/telegram/webhook", _json.dumps(update).encode(), headers)
    assert channel_stack.settled_user_texts(f"whatsapp:{number}", 1) == ["I have a fever"]
    assert channel_stack.settled_user_texts(f"telegram:{number}", 1) == ["can I peel it off?"]
    assert channel_stack.tracker(f"telegram:{number}")["slots"]["triage_level"] != "urgent"
