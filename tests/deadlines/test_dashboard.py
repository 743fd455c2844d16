"""The conversation page: contact details revealed in full only to allowed roles, audited; alarm verdicts."""

from __future__ import annotations

from sqlalchemy import select

from bot.storage import audit
from bot.storage.contacts import save_contact
from bot.storage.models import Flag
from tests.dashboard.conftest import app, auth, client, settings, staff_accounts  # noqa: F401
from tests.deadlines.conftest import add_flag

NUMBER = "+447700900123"


def _flag_with_contact(session_factory) -> int:
    flag_id = add_flag(session_factory, "urgent", conversation_id=f"whatsapp:{NUMBER}")
    with session_factory.begin() as session:
        save_contact(
            session=session, conversation_id=f"whatsapp:{NUMBER}", kind="email", value="jo@example.org"
        )
    return flag_id


def test_a_reviewer_sees_masked_details_and_cannot_reveal_them(session_factory, auth):  # noqa: F811
    flag_id = _flag_with_contact(session_factory)
    auth.login("nurse")
    page = auth.client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert (
        "+44 \u2022\u2022\u2022 \u2022\u2022\u2022 123" in page and "j\u2022\u2022\u2022@example.org" in page
    )
    assert NUMBER not in page and "7700900" not in page and "jo@example.org" not in page
    assert "Show full contact details" not in page
    response = auth.post(f"/flags/{flag_id}/contact")
    assert response.status_code == 403
    assert NUMBER not in response.get_data(as_text=True)
    with session_factory.begin() as session:
        assert audit.entries(session=session, action="contact.reveal") == []
        assert audit.entries(session=session, actor="nurse", action="access.denied")


def test_an_admin_reveals_the_full_details_in_one_click_and_it_is_audited(session_factory, auth):  # noqa: F811
    flag_id = _flag_with_contact(session_factory)
    auth.login("boss")
    page = auth.client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "Show full contact details" in page and NUMBER not in page
    response = auth.post(f"/flags/{flag_id}/contact")
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and NUMBER in body and "jo@example.org" in body
    assert response.headers["Cache-Control"] == "no-store"
    with session_factory.begin() as session:
        [entry] = audit.entries(session=session, action="contact.reveal")
        assert (entry.actor, entry.target) == ("boss", f"flag:{flag_id}")
        assert entry.detail.startswith("conversation=conv#") and NUMBER not in entry.detail
        assert entry.at is not None


def test_the_reveal_needs_the_csrf_token(session_factory, auth):  # noqa: F811
    flag_id = _flag_with_contact(session_factory)
    auth.login("boss")
    assert auth.client.post(f"/flags/{flag_id}/contact").status_code == 400


def test_resolving_stores_the_verdict_on_the_rule(session_factory, auth):  # noqa: F811
    first = add_flag(session_factory, "urgent", conversation_id="telegram:1")
    second = add_flag(session_factory, "urgent", conversation_id="telegram:2")
    third = add_flag(session_factory, "urgent", conversation_id="telegram:3")
    auth.login("nurse")
    page = auth.client.get(f"/flags/{first}").get_data(as_text=True)
    assert 'name="alarm" value="false_alarm"' in page
    auth.post(f"/flags/{first}/resolve", {"outcome": "other", "alarm": "false_alarm"})
    auth.post(f"/flags/{second}/resolve", {"outcome": "advised_visit"})
    refused = auth.post(
        f"/flags/{third}/resolve", {"outcome": "other", "alarm": "maybe"}, follow_redirects=True
    )
    assert "true or a false alarm" in refused.get_data(as_text=True)
    with session_factory.begin() as session:
        alarms = dict(session.execute(select(Flag.id, Flag.alarm)).all())
        assert alarms == {first: "false_alarm", second: "true_alarm", third: None}
        assert session.get(Flag, third).status == "open"
        details = {entry.detail for entry in audit.entries(session=session, action="flag.resolve")}
        assert "outcome=other alarm=false_alarm" in details
