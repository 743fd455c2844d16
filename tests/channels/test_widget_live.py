"""The website widget's HTTP API against the real assistant: sessions, replies, history, refusals."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
import uuid

import pytest

from bot.channels.messages import load_channel_texts
from tests.channels.conftest import knowledge_answer, rendered_response

pytestmark = pytest.mark.slow

BASE = "/webhooks/widget"


def _session(channels) -> str:
    status, body = channels.post(f"{BASE}/session", b"{}", {"Content-Type": "application/json"})
    assert status == 200
    return json.loads(body)["token"]


def _say(channels, token, text, message_id=None):
    body = json.dumps({"text": text, "id": message_id or uuid.uuid4().hex}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    status, answer = channels.post(f"{BASE}/message", body, headers)
    return status, json.loads(answer) if answer.startswith("{") else answer


def _history(channels, token):
    status, body = channels.get(f"{BASE}/history", {"Authorization": f"Bearer {token}"})
    return status, json.loads(body) if body.startswith("{") else body


def _session_id(token: str) -> str:
    return token.split(".")[1]


def _conversation(token: str) -> str:
    return f"widget:{_session_id(token)}"


def test_a_question_gets_the_knowledge_answer(channel_stack):
    token = _session(channel_stack)
    status, reply = _say(channel_stack, token, "can I peel it off?")
    assert status == 200
    texts = [m["text"] for m in reply["messages"]]
    assert any(knowledge_answer("ask_peel_off") in t for t in texts)
    assert rendered_response("utter_disclaimer") in texts
    assert all(m["level"] is None for m in reply["messages"])
    [user] = channel_stack.user_events(_conversation(token))
    assert user["input_channel"] == "widget"


def test_fever_reply_is_marked_urgent_by_the_server(channel_stack):
    token = _session(channel_stack)
    _, reply = _say(channel_stack, token, "I have a fever")
    first = reply["messages"][0]
    assert first["text"] == rendered_response("utter_escalate_urgent")
    assert first["level"] == "urgent"
    assert reply["triage_level"] == "urgent"


def test_an_allergic_reaction_is_marked_emergency(channel_stack):
    token = _session(channel_stack)
    _, reply = _say(channel_stack, token, "my lips and tongue are swelling up and I can't breathe properly")
    first = reply["messages"][0]
    assert first["text"] == rendered_response("utter_escalate_emergency")
    assert first["level"] == "emergency"
    assert reply["triage_level"] == "emergency"


def test_history_continues_the_conversation(channel_stack):
    token = _session(channel_stack)
    _say(channel_stack, token, "can I peel it off?", message_id="first-message-1")
    _say(channel_stack, token, "I have a fever")
    status, history = _history(channel_stack, token)
    assert status == 200
    users = [m for m in history["messages"] if m["from"] == "user"]
    assert [(m["text"], m["id"]) for m in users][0] == ("can I peel it off?", "first-message-1")
    assert [m["text"] for m in users] == ["can I peel it off?", "I have a fever"]
    assert any(m.get("level") == "urgent" for m in history["messages"])
    assert history["triage_level"] == "urgent"


def test_a_retried_message_is_processed_once(channel_stack):
    token = _session(channel_stack)
    _, first = _say(channel_stack, token, "can I peel it off?", message_id="retry-me-123")
    assert first["messages"]
    status, again = _say(channel_stack, token, "can I peel it off?", message_id="retry-me-123")
    assert status == 200 and again["duplicate"] is True
    assert again["messages"] == first["messages"], "a retry is answered from the stored replies"
    assert len(channel_stack.user_events(_conversation(token))) == 1


def test_forged_or_missing_tokens_are_403(channel_stack):
    mine, theirs = _session(channel_stack), _session(channel_stack)
    _say(channel_stack, theirs, "can I peel it off?")
    version, _, issued, mac = mine.split(".")
    forged = f"{version}.{_session_id(theirs)}.{issued}.{mac}"
    assert _history(channel_stack, forged)[0] == 403
    assert _say(channel_stack, forged, "hello")[0] == 403
    assert _say(channel_stack, mine[:-3] + "abc", "hello")[0] == 403
    assert channel_stack.get(f"{BASE}/history")[0] == 403
    assert len(channel_stack.user_events(_conversation(theirs))) == 1


def test_malformed_and_oversized_bodies(channel_stack):
    token = _session(channel_stack)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    assert channel_stack.post(f"{BASE}/message", b"{oops", headers)[0] == 400
    # Longer than the widget lets anyone type: read whole, the red flag escalated, and asked to shorten.
    status, answer = _say(channel_stack, token, "I have a fever. " + "x " * 3_000)
    assert status == 200
    texts = " ".join(m.get("text") or "" for m in answer["messages"])
    assert load_channel_texts().too_long_reply in texts
    assert any(m.get("level") == "urgent" for m in answer["messages"])
    huge = json.dumps({"text": "x" * 70_000}).encode()
    assert channel_stack.post(f"{BASE}/message", huge, headers)[0] == 413


def test_intent_commands_are_read_as_plain_text(channel_stack):
    token = _session(channel_stack)
    _say(channel_stack, token, "/report_allergic_reaction")
    latest = channel_stack.tracker(_conversation(token))["latest_message"]
    assert latest["text"] == "report_allergic_reaction"
    assert len(latest["intent_ranking"]) > 1


def test_the_widget_files_and_demo_page_are_served(channel_stack):
    status, script = channel_stack.get(f"{BASE}/static/widget.js")
    assert status == 200 and "text/plain" in script
    assert channel_stack.get(f"{BASE}/static/widget.css")[0] == 200
    assert channel_stack.get(f"{BASE}/static/../../credentials.yml")[0] == 404
    status, page = channel_stack.get(f"{BASE}/demo")
    assert status == 200 and 'src="static/widget.js"' in page
    status, config = channel_stack.get(f"{BASE}/config")
    assert status == 200 and json.loads(config)["clinic"]["phone_link"].startswith("tel:")


def test_only_listed_websites_may_call_the_widget_from_another_origin(channel_stack):
    def session_from(origin: str):
        request = urllib.request.Request(
            f"{channel_stack.url}{BASE}/session",
            data=b"{}",
            method="POST",
            headers={"Origin": origin, "Content-Type": "text/plain;charset=UTF-8"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return {k.lower(): v for k, v in response.headers.items()}, json.loads(response.read())

    clinic = channel_stack.clinic_site.origin
    headers, _ = session_from(clinic)
    assert headers["access-control-allow-origin"] == clinic
    headers, _ = session_from("https://evil.example")
    assert "access-control-allow-origin" not in headers


def test_the_token_may_travel_in_a_plain_text_body(channel_stack):
    """What the widget sends: no custom header, so browsers need no CORS preflight."""
    token = _session(channel_stack)
    body = json.dumps({"token": token, "text": "can I peel it off?", "id": "plain-body-1"}).encode()
    status, answer = channel_stack.post(f"{BASE}/message", body, {"Content-Type": "text/plain;charset=UTF-8"})
    assert status == 200
    assert any(knowledge_answer("ask_peel_off") in m["text"] for m in json.loads(answer)["messages"])
    status, history = channel_stack.post(f"{BASE}/history", json.dumps({"token": token}).encode())
    assert status == 200 and json.loads(history)["messages"][0]["id"] == "plain-body-1"
    forged = json.dumps({"token": token[:-2] + "xx"}).encode()
    assert channel_stack.post(f"{BASE}/history", forged)[0] == 403


def test_a_browser_that_gave_up_gets_the_escalation_on_its_retry(channel_stack):
    """The first request times out on the client mid-turn; the turn still completes and is stored."""
    import socket

    token = _session(channel_stack)
    body = json.dumps({"text": "I have a fever", "id": "gave-up-0001"}).encode()
    request = urllib.request.Request(
        f"{channel_stack.url}{BASE}/message",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with pytest.raises((socket.timeout, urllib.error.URLError)):
        urllib.request.urlopen(request, timeout=0.01)
    status, reply = _say(channel_stack, token, "I have a fever", message_id="gave-up-0001")
    assert status == 200
    assert reply["messages"][0]["text"] == rendered_response("utter_escalate_urgent")
    assert reply["messages"][0]["level"] == "urgent"
    assert [e["text"] for e in channel_stack.user_events(_conversation(token))] == ["I have a fever"]
