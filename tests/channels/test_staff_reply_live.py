"""Staff replies and takeovers through the real servers: the dashboard's API in, every channel out.

The assistant (Rasa, actions) runs with every channel pointed at the local provider fakes
(``channel_stack``); the dashboard runs as ``aftercare dashboard`` on the same database. Patients
write with real signed webhooks; staff act through the JSON API with a real token.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Dict, List, Optional

import pytest

from bot.storage import make_engine, make_session_factory, outbound
from tests.channels.conftest import PUBLIC_URL, flags_of, rendered_response, wait_until
from tests.channels.fake_providers import sent_to
from tests.channels.payloads import (
    signed,
    telegram_text,
    twilio_form,
    twilio_signed,
    whatsapp_event,
    whatsapp_status,
    whatsapp_text,
)

pytestmark = pytest.mark.slow

NOTICE_STARTED = "is now reading this chat"
NOTICE_ENDED = "handed this chat back"


def _status(database_url: str, conversation: str, text: str) -> Optional[str]:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            rows = outbound.for_conversation(session=session, conversation_id=conversation)
            found = [row.status for row in rows if row.text == text]
            return found[0] if found else None
    finally:
        engine.dispose()


def _receipt(database_url: str, conversation: str, text: str) -> str:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            [row] = [
                r
                for r in outbound.for_conversation(session=session, conversation_id=conversation)
                if r.text == text
            ]
            [receipt] = session.query(outbound.OutboundReceipt).filter_by(outbound_id=row.id).all()
            return str(receipt.provider_message_id)
    finally:
        engine.dispose()


# -- how a patient writes on each provider channel --------------------------------------------


def _patient(channel: str) -> str:
    number = str(uuid.uuid4().int)[:6]
    return {"whatsapp": f"4477009{number}", "telegram": f"77{number}", "twilio": f"+4477009{number}"}[channel]


def _write(channels, channel: str, patient: str, text: str) -> None:
    if channel == "whatsapp":
        payload = whatsapp_event([whatsapp_text(patient, f"wamid.{uuid.uuid4().hex}", text)])
        body, headers = signed(payload, channels.secrets["AFTERCARE_WHATSAPP_APP_SECRET"])
        status, _ = channels.post("/webhooks/whatsapp/webhook", body, headers)
    elif channel == "telegram":
        update = telegram_text(int(uuid.uuid4().int % 10**9), int(patient), text)
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": channels.secrets["AFTERCARE_TELEGRAM_SECRET_TOKEN"],
        }
        status, _ = channels.post("/webhooks/telegram/webhook", json.dumps(update).encode(), headers)
    else:
        fields = twilio_form(f"SM{uuid.uuid4().hex}", patient, text)
        body, headers = twilio_signed(
            f"{PUBLIC_URL}/webhooks/twilio/webhook", fields, channels.secrets["AFTERCARE_TWILIO_AUTH_TOKEN"]
        )
        status, _ = channels.post("/webhooks/twilio/webhook", body, headers)
    assert status == 200


def _flagged(channels, channel: str, patient: str) -> str:
    """A patient who reported a fever: the conversation has an urgent flag staff can act on."""
    conversation = f"{channel}:{patient}"
    _write(channels, channel, patient, "I have a fever of 39 since this morning")
    wait_until(lambda: flags_of(channels.stack.database_url, conversation), timeout=120)
    return conversation


@pytest.mark.parametrize("channel", ["whatsapp", "telegram", "twilio"])
def test_a_staff_reply_reaches_a_provider_patient_exactly_once(channel_stack, dashboard, channel):
    patient = _patient(channel)
    conversation = _flagged(channel_stack, channel, patient)
    text = f"Hello from the clinic team ({uuid.uuid4().hex[:6]})"
    path = f"/api/conversations/{conversation}/messages"
    first = dashboard.call("POST", path, {"text": text}, **{"Idempotency-Key": "first"})
    again = dashboard.call("POST", path, {"text": text}, **{"Idempotency-Key": "first"})
    assert first[0] == again[0] == 202 and first[1]["message"]["id"] == again[1]["message"]["id"]
    later = f"A second message ({uuid.uuid4().hex[:6]})"
    assert dashboard.call("POST", path, {"text": later})[0] == 202

    wait_until(lambda: later in sent_to(channel_stack.fake, channel, patient), timeout=60)
    texts = sent_to(channel_stack.fake, channel, patient)
    assert texts.count(text) == 1 and texts.index(text) < texts.index(later)
    wait_until(lambda: _status(channel_stack.stack.database_url, conversation, text) == "sent", timeout=30)

    if channel == "whatsapp":
        wamid = _receipt(channel_stack.stack.database_url, conversation, text)
        body, headers = signed(
            whatsapp_status(patient, wamid), channel_stack.secrets["AFTERCARE_WHATSAPP_APP_SECRET"]
        )
        assert channel_stack.post("/webhooks/whatsapp/webhook", body, headers)[0] == 200
    elif channel == "twilio":
        sid = _receipt(channel_stack.stack.database_url, conversation, text)
        fields = {"MessageSid": sid, "MessageStatus": "delivered", "AccountSid": "AC0", "To": patient}
        url = f"{PUBLIC_URL}/webhooks/twilio/status"
        body, headers = twilio_signed(url, fields, channel_stack.secrets["AFTERCARE_TWILIO_AUTH_TOKEN"])
        assert channel_stack.post("/webhooks/twilio/status", body, headers)[0] == 204
        forged = twilio_signed(url, {**fields, "MessageStatus": "failed"}, "wrong-token")
        assert channel_stack.post("/webhooks/twilio/status", *forged)[0] == 403
    if channel != "telegram":  # Telegram has no delivery receipts: "sent" is final
        wait_until(
            lambda: _status(channel_stack.stack.database_url, conversation, text) == "delivered", timeout=30
        )
    transcript = dashboard.call("GET", f"/api/conversations/{conversation}")[1]
    statuses = {m["text"]: m.get("status") for m in transcript["messages"] if m["from"] == "staff"}
    assert statuses[text] == ("sent" if channel == "telegram" else "delivered")


def test_takeover_silences_the_assistant_except_for_red_flags_and_hand_back_resumes(channel_stack, dashboard):
    patient = _patient("telegram")
    conversation = _flagged(channel_stack, "telegram", patient)
    base = f"/api/conversations/{conversation}"
    assert dashboard.call("POST", f"{base}/takeover")[0] == 200
    held = dashboard.call("POST", f"{base}/takeover", token="boss")
    assert held == (409, {"error": "held_by_other", "held_by": "nurse"})
    wait_until(
        lambda: any(NOTICE_STARTED in t for t in sent_to(channel_stack.fake, "telegram", patient)), timeout=60
    )

    def texts() -> List[str]:
        return sent_to(channel_stack.fake, "telegram", patient)

    _write(channel_stack, "telegram", patient, "when can I wear makeup again?")
    channel_stack.settled_user_texts(conversation, 2)
    assert _bot_texts_after_user(channel_stack, conversation, 2) == []  # staff answer this one
    _write(channel_stack, "telegram", patient, "my face is swollen and I can't breathe properly")
    emergency = rendered_response("utter_escalate_emergency")
    wait_until(lambda: emergency in texts(), timeout=90)
    channel_stack.settled_user_texts(conversation, 3)
    assert emergency in _bot_texts_after_user(
        channel_stack, conversation, 3
    )  # the safety net answers at once
    assert {f["level"] for f in flags_of(channel_stack.stack.database_url, conversation)} >= {"emergency"}
    page = dashboard.call("GET", base)[1]
    assert page["takeover"]["staff"] == "nurse" and page["red_flags_during_takeover"]

    assert dashboard.call("POST", f"{base}/handback") == (200, {"handed_back": True})
    wait_until(lambda: any(NOTICE_ENDED in t for t in texts()), timeout=60)
    after = len(texts())
    _write(channel_stack, "telegram", patient, "when can I wear makeup again?")
    channel_stack.settled_user_texts(conversation, 4)
    assert _bot_texts_after_user(channel_stack, conversation, 4)  # the assistant answers again
    wait_until(lambda: len(texts()) > after, timeout=30)
    assert sum(NOTICE_STARTED in t for t in texts()) == 1 and sum(NOTICE_ENDED in t for t in texts()) == 1


def _bot_texts_after_user(channels, conversation: str, number: int) -> List[str]:
    """What the assistant said in reply to the patient's ``number``-th message (from the tracker)."""
    seen = 0
    said: List[str] = []
    for event in channels.tracker(conversation).get("events", []):
        if event.get("event") == "user":
            seen += 1
        elif event.get("event") == "bot" and seen == number:
            said.append(event.get("text") or "")
    return said


def _widget(channels, path: str, body: Dict[str, Any]) -> Dict[str, Any]:
    status, text = channels.post(
        f"/webhooks/widget{path}", json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200, text
    return json.loads(text)


def test_a_widget_patient_sees_the_staff_reply_once_in_the_history(channel_stack, dashboard):
    token = _widget(channel_stack, "/session", {})["token"]
    conversation = f"widget:{token.split('.')[1]}"  # v1.<session id>.<issued>.<mac>
    _widget(
        channel_stack,
        "/message",
        {"token": token, "text": "I have a fever of 39", "id": uuid.uuid4().hex[:12]},
    )
    wait_until(lambda: flags_of(channel_stack.stack.database_url, conversation), timeout=60)
    text = f"Hi, this is the nurse ({uuid.uuid4().hex[:6]})"
    assert dashboard.call("POST", f"/api/conversations/{conversation}/messages", {"text": text})[0] == 202

    def staff_messages() -> List[Dict[str, Any]]:
        messages = _widget(channel_stack, "/history", {"token": token})["messages"]
        return [m for m in messages if m["from"] == "staff"]

    found = wait_until(staff_messages, timeout=30)
    assert [m["text"] for m in found] == [text]
    status, raw = channel_stack.get("/webhooks/widget/history", {"Authorization": f"Bearer {token}"})
    assert status == 200 and [m["text"] for m in json.loads(raw)["messages"] if m["from"] == "staff"] == [
        text
    ]
    assert _status(channel_stack.stack.database_url, conversation, text) == "delivered"
