"""The real assistant over HTTP: greeting, token protection, escalations, bad input."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest
import yaml

from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow

RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text())["responses"]


def _response_start(name: str) -> str:
    """The fixed opening of a response (before its first {placeholder})."""
    return RESPONSES[name][0]["text"].split("{")[0][:40]


def _sender() -> str:
    return f"test-{uuid.uuid4().hex[:10]}"


def test_greeting_over_rest(assistant):
    texts = assistant.texts(_sender(), "hello")
    assert any(t.startswith(_response_start("utter_greet")) for t in texts)
    assert any(t.startswith(_response_start("utter_disclaimer")) for t in texts)


def test_status_requires_token(assistant):
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{assistant.rasa_url}/status", timeout=10)
    assert error.value.code in (401, 403)
    with pytest.raises(urllib.error.HTTPError) as wrong:
        urllib.request.urlopen(f"{assistant.rasa_url}/status?token=wrong", timeout=10)
    assert wrong.value.code in (401, 403)
    status = assistant.api("GET", "/status")
    assert status["model_file"]


def test_fever_escalates_and_sets_triage_level(assistant):
    sender = _sender()
    texts = assistant.texts(sender, "I have a fever since this morning")
    assert texts[0].startswith(_response_start("utter_escalate_urgent"))
    assert assistant.tracker(sender)["slots"]["triage_level"] == "urgent"


def test_allergic_reaction_calls_emergency_services(assistant):
    sender = _sender()
    texts = assistant.texts(sender, "my lips and tongue are swelling up and I can't breathe properly")
    assert texts[0].startswith(_response_start("utter_escalate_emergency"))
    assert assistant.tracker(sender)["slots"]["triage_level"] == "emergency"


def test_triage_level_never_goes_down(assistant):
    sender = _sender()
    assistant.texts(sender, "I have a fever")
    assistant.texts(sender, "thanks")
    assistant.texts(sender, "is peeling normal?")
    assert assistant.tracker(sender)["slots"]["triage_level"] == "urgent"


def test_negated_fever_does_not_frighten(assistant):
    sender = _sender()
    texts = assistant.texts(sender, "no fever, just peeling")
    assert not any(t.startswith(_response_start("utter_escalate_urgent")) for t in texts)
    assert assistant.tracker(sender)["slots"]["triage_level"] in ("none", "self_care")


def test_peel_off_answer_says_no_and_names_source(assistant):
    texts = assistant.texts(_sender(), "my skin is peeling, can I peel it off?")
    joined = "\n".join(texts)
    assert "Source:" in joined
    assert not any(t.startswith(_response_start("utter_escalate_urgent")) for t in texts)


def test_red_flag_in_the_middle_of_a_makeup_question(assistant):
    sender = _sender()
    assistant.texts(sender, "hi")
    texts = assistant.texts(
        sender, "can I wear makeup tomorrow? also my cheeks are throbbing and really sore"
    )
    assert texts[0].startswith(_response_start("utter_escalate_urgent"))


def test_forced_wrong_intent_still_escalates(assistant):
    """If NLU said `greet` for a red-flag message, the SafetyPolicy still escalates."""
    sender = _sender()
    assistant.texts(sender, "hello")
    event = {
        "event": "user",
        "text": "my face is killing me",
        "parse_data": {"intent": {"name": "greet", "confidence": 0.99}, "entities": []},
    }
    assistant.api("POST", f"/conversations/{sender}/tracker/events", [event])
    prediction = assistant.api("POST", f"/conversations/{sender}/predict")
    best = max(prediction["scores"], key=lambda s: s["score"])
    assert best["action"] == "utter_escalate_urgent"
    assert prediction["policy"].endswith("SafetyPolicy")


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   ",
        "x" * 10_000,
        "😀😀😀",
        "<script>alert('x')</script>",
        "¿Puedo maquillarme mañana?",
        "\x00\x01\x02",
    ],
)
def test_bad_input_gets_a_safe_reply(assistant, message):
    replies = assistant.chat(_sender(), message)
    body = json.dumps(replies)
    assert "Traceback" not in body and "Exception" not in body
    for reply in replies:
        assert "text" in reply or "buttons" in reply


def _post_rest(assistant, body: bytes, query: str = "", headers=None):
    request = urllib.request.Request(
        f"{assistant.rasa_url}/webhooks/rest/webhook{query}",
        data=body,
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_rest_webhook_requires_the_api_token(assistant):
    sender = _sender()
    body = json.dumps({"sender": sender, "message": "I have a fever"}).encode()
    assert _post_rest(assistant, body)[0] == 401
    assert _post_rest(assistant, body, "?token=wrong")[0] == 401
    assert _post_rest(assistant, body, headers={"Authorization": "Bearer wrong"})[0] == 401
    assert [e for e in assistant.tracker(sender)["events"] or [] if e.get("event") == "user"] == []
    status, replies = _post_rest(assistant, body, f"?token={assistant.token}")
    assert status == 200 and replies[0]["text"].startswith(_response_start("utter_escalate_urgent"))


def test_the_sender_id_is_kept_exactly_and_the_input_channel_cannot_be_spoofed(assistant):
    sender = _sender() + "+odd:id"
    body = json.dumps({"sender": sender, "message": "hello", "input_channel": "whatsapp"}).encode()
    status, _ = _post_rest(assistant, body, f"?token={assistant.token}")
    assert status == 200
    tracker = assistant.tracker(sender)  # Rasa's API does not unquote the path: send it raw
    assert tracker["sender_id"] == sender
    assert tracker["latest_input_channel"] == "rest"


@pytest.mark.parametrize("sender", ["\ud800", "a\u0000b", "x" * 300, 42, None])
def test_unusable_sender_ids_are_400_and_the_server_keeps_answering(assistant, sender):
    body = json.dumps({"sender": sender, "message": "hi"}).encode()
    status, reply = _post_rest(assistant, body, f"?token={assistant.token}")
    assert status == 400 and "sender" in reply
    assert assistant.texts(_sender(), "hello")


def test_patients_cannot_force_an_intent_or_set_a_slot(assistant):
    sender = _sender()
    assistant.texts(sender, '/inform{"days_since": 3000}')
    assistant.texts(sender, "/report_allergic_reaction")
    tracker = assistant.tracker(sender)
    assert tracker["slots"]["triage_level"] not in ("emergency", "urgent")
    assert tracker["slots"].get("days_since_procedure") != 3000
    assert len(tracker["latest_message"]["intent_ranking"]) > 1


def test_a_red_flag_past_character_5000_still_escalates_and_asks_for_a_shorter_message(assistant):
    from bot.channels.messages import load_channel_texts

    sender = _sender()
    text = "My skin is a bit dry and I wonder which cream is best. " * 95 + "Also I have a fever."
    assert text.index("fever") > 5000
    texts = assistant.texts(sender, text)
    assert texts[0].startswith(_response_start("utter_escalate_urgent"))
    assert texts[-1] == load_channel_texts().too_long_reply
    assert assistant.tracker(sender)["slots"]["triage_level"] == "urgent"
    users = [e for e in assistant.tracker(sender)["events"] if e.get("event") == "user"]
    assert len(users[-1]["text"]) <= 4096
