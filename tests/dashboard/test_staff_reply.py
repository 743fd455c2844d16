"""The conversation page: take over, reply, see each message's status, hand back; red flags highlighted."""

from __future__ import annotations

import re
from datetime import timedelta

from bot.storage import outbound, utcnow
from bot.storage.takeover_flow import start_takeover
from tests.dashboard.conftest import add_flag

CONVERSATION = "telegram:5550001"


def reply_key(page: str) -> str:
    match = re.search(r'name="reply_key" value="([^"]+)"', page)
    assert match
    return match.group(1)


def test_take_over_reply_and_hand_back_from_the_conversation_page(client, auth, session_factory):
    flag_id = add_flag(session_factory, CONVERSATION, "urgent", channel="telegram")
    auth.login("nurse")
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "The assistant is answering this conversation." in page

    auth.post(f"/flags/{flag_id}/takeover")
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "<strong>nurse</strong> has taken this conversation over" in page

    key = reply_key(page)
    auth.post(f"/flags/{flag_id}/reply", {"text": "Hello, this is the nurse", "reply_key": key})
    auth.post(
        f"/flags/{flag_id}/reply", {"text": "Hello, this is the nurse", "reply_key": key}
    )  # resubmitted
    with session_factory.begin() as session:
        rows = outbound.for_conversation(session=session, conversation_id=CONVERSATION)
        staff_rows = [r for r in rows if r.kind == "staff"]
        assert [(r.text, r.author) for r in staff_rows] == [("Hello, this is the nurse", "nurse")]
        outbound.advance(staff_rows[0], outbound.STATUS_DELIVERED)
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert re.search(r'delivery-delivered">Delivered</span>\s*<p class="text">Hello, this is the nurse', page)

    auth.post(f"/flags/{flag_id}/handback")
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "The assistant is answering this conversation." in page


def test_a_colleague_sees_who_holds_the_conversation_and_gets_no_reply_form(client, auth, session_factory):
    flag_id = add_flag(session_factory, CONVERSATION, "urgent", channel="telegram")
    with session_factory.begin() as session:
        start_takeover(session=session, conversation_id=CONVERSATION, staff="boss")
    auth.login("nurse")
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "<strong>boss</strong> has taken this conversation over" in page and 'id="send-reply"' not in page
    response = auth.post(f"/flags/{flag_id}/takeover", follow_redirects=True)
    assert "Another member of staff has taken this conversation over" in response.get_data(as_text=True)


def test_a_red_flag_during_a_takeover_is_highlighted(client, auth, session_factory):
    add_flag(session_factory, CONVERSATION, "routine", channel="telegram")
    with session_factory.begin() as session:
        start_takeover(
            session=session, conversation_id=CONVERSATION, staff="nurse", now=utcnow() - timedelta(minutes=5)
        )
    flag_id = add_flag(session_factory, CONVERSATION, "emergency", channel="telegram", now=utcnow())
    auth.login("nurse")
    page = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert 'class="banner red-flag" role="alert"' in page
