"""The widget's contact step on a real database: validated, stored once, purged with retention."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.channels.widget_contact import contact_texts, leave_contact, should_offer
from bot.storage import flags
from bot.storage.contacts import ContactError, masked_contact, validate_contact
from bot.storage.deadline_models import PatientContact
from bot.storage.models import Flag
from bot.storage.retention import purge
from tests.deadlines.conftest import T0, add_flag

CONVERSATION = "widget:session-abc"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("phone", "+44 20 7946-0000", ("phone", "+442079460000")),
        ("phone", "(020) 7946 0000", ("phone", "02079460000")),
        ("email", " Jo.Smith+care@Example.ORG ", ("email", "Jo.Smith+care@example.org")),
    ],
)
def test_good_contacts_are_normalised(kind, value, expected):
    assert validate_contact(kind, value) == expected


@pytest.mark.parametrize(
    ("kind", "value", "code"),
    [
        ("phone", "12345", "bad_phone"),
        ("phone", "call me maybe", "bad_phone"),
        ("phone", "+44 20 7946 0000 ext 12", "bad_phone"),
        ("phone", "1" * 16, "bad_phone"),
        ("email", "jo@", "bad_email"),
        ("email", "jo smith@example.org", "bad_email"),
        ("email", "<script>@x.org", "bad_email"),
        ("email", 42, "bad_email"),
        ("fax", "+44 20 7946 0000", "bad_kind"),
    ],
)
def test_bad_contacts_are_refused_with_a_code(kind, value, code):
    with pytest.raises(ContactError) as error:
        validate_contact(kind, value)
    assert error.value.code == code
    assert contact_texts()["errors"][code]


def test_the_step_is_offered_once_the_conversation_is_flagged_and_until_a_contact_is_left(session_factory):
    assert not should_offer(session_factory, CONVERSATION)
    status, body = leave_contact(
        session_factory, CONVERSATION, {"kind": "phone", "value": "+44 20 7946 0000"}
    )
    assert status == 409 and body["error"] == "not_flagged"

    add_flag(session_factory, "urgent", conversation_id=CONVERSATION)
    assert should_offer(session_factory, CONVERSATION)

    status, body = leave_contact(session_factory, CONVERSATION, {"kind": "email", "value": "not-an-email"})
    assert status == 400 and body == {"error": "bad_email", "message": contact_texts()["errors"]["bad_email"]}
    status, body = leave_contact(session_factory, CONVERSATION, {"kind": "phone", "value": "0800"})
    assert status == 400 and "phone number" in body["message"]
    assert should_offer(session_factory, CONVERSATION)

    status, body = leave_contact(
        session_factory, CONVERSATION, {"kind": "phone", "value": "+44 20 7946 0000"}
    )
    assert status == 200 and body["saved"] is True
    status, _ = leave_contact(session_factory, CONVERSATION, {"kind": "email", "value": "jo@example.org"})
    assert status == 200
    with session_factory.begin() as session:
        [row] = session.execute(select(PatientContact)).scalars()
        assert (row.kind, row.value) == ("email", "jo@example.org")
    assert not should_offer(session_factory, CONVERSATION)


def test_contacts_are_masked_for_display():
    assert masked_contact("phone", "+442079460123") == "+44 \u2022\u2022\u2022 \u2022\u2022\u2022 123"
    assert masked_contact("email", "jo@example.org") == "j\u2022\u2022\u2022@example.org"


def test_retention_purges_contacts_with_the_conversation(session_factory):
    flag_id = add_flag(session_factory, "urgent", conversation_id=CONVERSATION, now=T0)
    with session_factory.begin() as session:
        from bot.storage.contacts import save_contact

        save_contact(
            session=session, conversation_id=CONVERSATION, kind="phone", value="+442079460000", now=T0
        )
        flags.resolve(
            session=session, flag=session.get(Flag, flag_id), by="nurse", outcome="contacted_patient", now=T0
        )
    with session_factory.begin() as session:
        dry = purge(session=session, before=T0 + timedelta(days=1), dry_run=True)
    assert dry.contacts == 1 and "contacts=1" in dry.summary()
    with session_factory.begin() as session:
        assert purge(session=session, before=T0 - timedelta(days=1)).contacts == 0
        assert purge(session=session, before=T0 + timedelta(days=1)).contacts == 1
    with session_factory.begin() as session:
        assert session.execute(select(PatientContact)).first() is None
