"""The conversation page: transcript, escaping, highlights, and the actions on flags."""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.storage import audit
from bot.storage.models import Flag
from tests.dashboard.conftest import T0, add_flag
from tests.storage.rasa_events import add_event, bot, create_rasa_events_table, slot, user

SCRIPT = "<script>alert(1)</script>"
T = T0.timestamp()


def write_conversation(engine, conversation_id="conv-1"):
    create_rasa_events_table(engine)
    add_event(engine, conversation_id, user(f"hello {SCRIPT}", "greet", T - 60))
    add_event(engine, conversation_id, bot("Hello! How are you feeling after your treatment?", T - 59))
    add_event(engine, conversation_id, user("I have a fever of 39", "report_fever", T - 5))
    add_event(engine, conversation_id, slot("triage_level", "urgent", T - 4))
    add_event(engine, conversation_id, bot("Please contact your clinic today.", T - 3))


def flag_state(session_factory, flag_id):
    with session_factory.begin() as session:
        flag = session.get(Flag, flag_id)
        return flag.status, flag.outcome, flag.note, flag.acknowledged_by, flag.resolved_by


def test_the_transcript_is_shown_escaped_with_the_triggering_message_highlighted(
    client, auth, engine, session_factory
):
    write_conversation(engine)
    flag_id = add_flag(session_factory)
    auth.login("nurse")
    response = client.get(f"/flags/{flag_id}")
    html = response.get_data(as_text=True)
    assert SCRIPT not in html
    assert "hello &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Please contact your clinic today." in html
    flagged = re.findall(r'<li class="turn user flagged">.*?</li>', html, re.S)
    assert len(flagged) == 1 and "I have a fever of 39" in flagged[0] and "rule_urgent" in flagged[0]
    assert "Triage level over time:" in html
    assert response.headers["Cache-Control"] == "no-store"


def test_patient_text_in_flags_is_escaped_too(client, auth, session_factory):
    flag_id = add_flag(session_factory, message=SCRIPT)
    auth.login("nurse")
    assert SCRIPT not in client.get(f"/flags/{flag_id}").get_data(as_text=True)


def test_a_missing_tracker_store_is_explained(client, auth, session_factory):
    flag_id = add_flag(session_factory)
    auth.login("nurse")
    assert "conversation store is not available" in client.get(f"/flags/{flag_id}").get_data(as_text=True)


def test_viewing_a_conversation_is_audited(client, auth, session_factory):
    flag_id = add_flag(session_factory)
    auth.login("nurse")
    client.get(f"/flags/{flag_id}")
    with session_factory.begin() as session:
        entry = audit.entries(session=session, action="conversation.view")[0]
        assert (entry.actor, entry.target) == ("nurse", f"flag:{flag_id}")


def test_an_unknown_flag_is_not_found(client, auth):
    auth.login("nurse")
    assert client.get("/flags/999").status_code == 404


def test_acknowledge_resolve_and_reopen_record_who_and_when(client, auth, session_factory):
    flag_id = add_flag(session_factory)
    auth.login("nurse")
    assert auth.post(f"/flags/{flag_id}/acknowledge").status_code == 302
    assert flag_state(session_factory, flag_id)[0] == "acknowledged"
    auth.post(f"/flags/{flag_id}/resolve", {"outcome": "advised_visit", "note": "Booked for Monday"})
    assert flag_state(session_factory, flag_id) == (
        "resolved",
        "advised_visit",
        "Booked for Monday",
        "nurse",
        "nurse",
    )
    html = client.get(f"/flags/{flag_id}").get_data(as_text=True)
    assert "nurse: Acknowledged" in html and "nurse: Resolved (outcome=advised_visit)" in html
    assert "Advised a visit" in html and "Booked for Monday" in html
    assert "Nothing to review" in client.get("/").get_data(as_text=True)
    auth.post(f"/flags/{flag_id}/reopen")
    assert flag_state(session_factory, flag_id)[:2] == ("open", None)
    assert "tg:••••5678" in client.get("/").get_data(as_text=True)
    with session_factory.begin() as session:
        actions = [entry.action for entry in audit.entries(session=session, target=f"flag:{flag_id}")]
    assert actions[:3] == ["flag.reopen", "conversation.view", "flag.resolve"]
    assert "flag.acknowledge" in actions


def test_resolving_needs_a_known_outcome(client, auth, session_factory):
    flag_id = add_flag(session_factory)
    auth.login("nurse")
    response = auth.post(f"/flags/{flag_id}/resolve", {"outcome": "shrugged"}, follow_redirects=True)
    assert "Choose an outcome" in response.get_data(as_text=True)
    assert flag_state(session_factory, flag_id)[0] == "open"


def test_a_stale_action_is_explained_not_fatal(client, auth, session_factory):
    flag_id = add_flag(session_factory)
    auth.login("nurse")
    auth.post(f"/flags/{flag_id}/resolve", {"outcome": "false_alarm"})
    response = auth.post(f"/flags/{flag_id}/acknowledge", follow_redirects=True)
    assert "does not apply to the flag any more" in response.get_data(as_text=True)
    with session_factory.begin() as session:
        assert session.execute(select(Flag.status)).scalar_one() == "resolved"


def test_failed_alerts_show_a_banner_to_everyone(client, auth, session_factory):
    from bot.storage import outbox

    add_flag(session_factory, level="emergency")
    with session_factory.begin() as session:
        alert = outbox.due_alerts(session=session)[0]
        outbox.mark_attempt_failed(session=session, alert=alert, error="SMTP down")
    auth.login("nurse")
    assert "1 alert could not be delivered yet" in client.get("/").get_data(as_text=True)
