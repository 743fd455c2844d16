"""The widget's request parsing, replies with levels, history and configuration (no server)."""

from __future__ import annotations

import asyncio

import pytest

from bot.channels.dispatch import ReplyCollector
from bot.channels.http import RequestError, bearer_token
from bot.channels.messages import load_channel_texts
from bot.channels.widget import STATIC_DIR, STATIC_FILES, parse_message_request, widget_config
from bot.channels.widget_history import bot_message, history, reply_level
from bot.safety import ESCALATION_RESPONSES
from bot.triage import Level


def test_message_request():
    assert parse_message_request({"text": " is peeling normal? ", "id": "abc12345-x"}) == (
        "is peeling normal?",
        "abc12345-x",
    )


def test_message_request_neutralises_commands():
    text, _ = parse_message_request({"text": "/report_fever", "id": "abcdefgh"})
    assert text == "report_fever"


def test_message_without_id_gets_one():
    _, first = parse_message_request({"text": "hi"})
    _, second = parse_message_request({"text": "hi"})
    assert first != second


def test_a_message_longer_than_the_widget_allows_is_still_read():
    text, _ = parse_message_request({"text": "I have a fever " + "x" * 5000})
    assert text.startswith("I have a fever") and len(text) > 5000


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({}, "text missing"),
        ({"text": 5}, "text missing"),
        ({"text": "   "}, "empty message"),
        ({"text": "/"}, "empty message"),
        ({"text": "hi", "id": "short"}, "bad message id"),
        ({"text": "hi", "id": "../../etc/passwd"}, "bad message id"),
        ({"text": "hi", "id": 12345678}, "bad message id"),
    ],
)
def test_unusable_messages_are_400(body, reason):
    with pytest.raises(RequestError) as error:
        parse_message_request(body)
    assert (error.value.status, error.value.reason) == (400, reason)


@pytest.mark.parametrize(
    ("header", "token"),
    [("Bearer abc", "abc"), ("bearer  abc ", "abc"), ("Basic abc", None), ("Bearer", None), ("", None)],
)
def test_bearer_token(header, token):
    assert bearer_token({"authorization": header}) == token


def test_escalation_replies_carry_their_level():
    assert reply_level(ESCALATION_RESPONSES[Level.URGENT]) == "urgent"
    assert reply_level(ESCALATION_RESPONSES[Level.EMERGENCY]) == "emergency"
    assert reply_level("utter_kb_answer") is None
    assert reply_level(None) is None


def test_output_collects_levels_and_button_titles():
    output = ReplyCollector()

    async def send() -> None:
        await output.send_response(
            "s", {"text": "Call now", "utter_action": ESCALATION_RESPONSES[Level.EMERGENCY]}
        )
        await output.send_response(
            "s",
            {"text": "Pick", "buttons": [{"title": "Yes", "payload": "/affirm"}], "utter_action": "utter_x"},
        )

    asyncio.run(send())
    shown = [bot_message(r["text"], r["utter_action"], r["buttons"]) for r in output.replies]
    assert shown == [
        {"from": "bot", "text": "Call now", "level": "emergency", "buttons": []},
        {"from": "bot", "text": "Pick", "level": None, "buttons": [{"title": "Yes"}]},
    ]


def test_history_shows_the_conversation_with_levels():
    events = [
        {"event": "action", "name": "action_session_start"},
        {"event": "session_started"},
        {"event": "user", "text": "I have a fever", "message_id": "sessionid:m1"},
        {"event": "action", "name": "utter_escalate_urgent"},
        {
            "event": "bot",
            "text": "Contact us",
            "data": {},
            "metadata": {"utter_action": "utter_escalate_urgent"},
        },
        {"event": "slot", "name": "triage_level", "value": "urgent"},
        {
            "event": "bot",
            "text": "Flagged",
            "data": {"buttons": None},
            "metadata": {"utter_action": "utter_flag"},
        },
        {"event": "user", "text": "", "message_id": "m2"},
    ]
    assert history(events) == [
        {"from": "user", "text": "I have a fever", "id": "m1"},
        {"from": "bot", "text": "Contact us", "level": "urgent", "buttons": []},
        {"from": "bot", "text": "Flagged", "level": None, "buttons": []},
    ]


def test_history_is_capped_to_the_latest_messages():
    events = [{"event": "user", "text": f"m{i}", "message_id": str(i)} for i in range(10)]
    assert [m["text"] for m in history(events, limit=3)] == ["m7", "m8", "m9"]


def test_config_gives_labels_and_tap_to_call_links():
    config = widget_config(
        load_channel_texts(),
        {"clinic_name": "Rose Clinic", "clinic_phone": "+44 20 7946 0000", "emergency_number": "999"},
    )
    assert config["clinic"]["phone_link"] == "tel:+442079460000"
    assert config["clinic"]["emergency_link"] == "tel:999"
    assert config["labels"]["call_clinic"].endswith("+44 20 7946 0000")
    assert all("{" not in label for label in config["labels"].values())
    assert config["suggestions"]


def test_static_files_exist_and_the_script_has_no_sentences_of_its_own():
    for name in [*STATIC_FILES, "demo.html"]:
        assert (STATIC_DIR / name).is_file()
    script = (STATIC_DIR / "widget.js").read_text()
    sentences = [
        label for label in load_channel_texts().widget.values() if isinstance(label, str) and " " in label
    ]
    assert sentences
    for sentence in sentences:
        assert sentence not in script
    assert "innerHTML" not in script


def test_history_keeps_rolled_over_sessions_but_starts_after_a_day_of_silence():
    """A session rolled over mid-conversation stays visible; one begun after a day away starts anew."""
    from bot.channels.widget_history import since_last_silence

    day = 24 * 3600.0
    events = [
        {"event": "session_started", "timestamp": 0.0},
        {"event": "user", "text": "first visit", "timestamp": 1.0},
        {"event": "bot", "text": "hello", "timestamp": 2.0},
        {"event": "session_started", "timestamp": day + 10.0},  # came back after a day
        {"event": "user", "text": "back again", "timestamp": day + 11.0},
        {"event": "bot", "text": "welcome back", "timestamp": day + 12.0},
        {"event": "session_started", "timestamp": day + 13.0},  # rolled over after many events
        {"event": "user", "text": "still peeling", "timestamp": day + 14.0},
    ]
    kept = [e.get("text") for e in since_last_silence(events, day) if e.get("text")]
    assert kept == ["back again", "welcome back", "still peeling"]
    assert [e.get("text") for e in history(since_last_silence(events, day))] == kept
