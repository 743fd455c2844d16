"""The widget's contact step and the stated response target through the real assistant (slow)."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.channels.widget_contact import contact_texts
from bot.knowledge import get_clinic_settings
from bot.storage import make_engine, make_session_factory
from bot.storage.deadline_models import PatientContact
from tests.channels.conftest import channel_stack, rendered_response  # noqa: F401

pytestmark = pytest.mark.slow

BASE = "/webhooks/widget"
JSON = {"Content-Type": "application/json"}


def _post(stack, path, token, body):
    headers = {**JSON, "Authorization": f"Bearer {token}"}
    status, answer = stack.post(f"{BASE}{path}", json.dumps(body).encode(), headers)
    return status, json.loads(answer)


def test_a_flagged_widget_patient_is_told_the_target_and_may_leave_a_validated_contact(channel_stack):  # noqa: F811
    status, body = channel_stack.post(f"{BASE}/session", b"{}", JSON)
    token = json.loads(body)["token"]
    status, config = channel_stack.get(f"{BASE}/config")
    assert json.loads(config)["contact"]["prompt"] == contact_texts()["labels"]["prompt"]

    status, reply = _post(channel_stack, "/message", token, {"text": "hello", "id": uuid.uuid4().hex})
    assert status == 200 and reply["contact_offer"] is False

    status, reply = _post(
        channel_stack, "/message", token, {"text": "I have a fever of 39", "id": uuid.uuid4().hex}
    )
    assert status == 200
    urgent = rendered_response("utter_escalate_urgent")  # in or out of opening hours, as now
    target = get_clinic_settings().as_template_values(datetime.now(timezone.utc))["response_target_urgent"]
    assert f"within {target}" in urgent
    assert urgent in [message["text"] for message in reply["messages"]]
    assert reply["contact_offer"] is True

    errors = contact_texts()["errors"]
    assert _post(channel_stack, "/contact", token, {"kind": "email", "value": "jo@@example"}) == (
        400,
        {"error": "bad_email", "message": errors["bad_email"]},
    )
    assert (
        _post(channel_stack, "/contact", token, {"kind": "phone", "value": "12"})[1]["error"] == "bad_phone"
    )
    assert (
        _post(channel_stack, "/contact", "forged.token.value", {"kind": "phone", "value": "+442079460000"})[0]
        == 403
    )

    status, saved = _post(channel_stack, "/contact", token, {"kind": "phone", "value": "+44 20 7946 0000"})
    assert status == 200 and saved["message"] == contact_texts()["labels"]["saved"]
    engine = make_engine(channel_stack.stack.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            rows = session.execute(select(PatientContact.conversation_id, PatientContact.value)).all()
    finally:
        engine.dispose()
    session_id = token.split(".")[1]
    assert rows == [(f"widget:{session_id}", "+442079460000")]

    status, history = channel_stack.get(f"{BASE}/history", {"Authorization": f"Bearer {token}"})
    assert json.loads(history)["contact_offer"] is False
    # The number never reaches a log line.
    assert "7946" not in channel_stack.stack.log.getvalue()
