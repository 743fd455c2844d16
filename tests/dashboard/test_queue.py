"""The queue page, its filters, and the CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from bot.storage import audit
from tests.dashboard.conftest import T0, add_flag


def row_order(html, names):
    return sorted(names, key=html.index)


def test_the_queue_lists_emergencies_first_with_masked_identities(client, auth, session_factory):
    add_flag(session_factory, "routine-conv", "routine", channel_user_id="11110001", now=T0)
    add_flag(
        session_factory, "urgent-conv", "urgent", channel="twilio", channel_user_id="+447700900123", now=T0
    )
    add_flag(session_factory, "emergency-conv", "emergency", channel_user_id="22225678", now=T0)
    auth.login("nurse")
    html = client.get("/").get_data(as_text=True)
    assert row_order(html, ["tg:••••5678", "+44 ••• ••• 123", "tg:••••0001"]) == [
        "tg:••••5678",
        "+44 ••• ••• 123",
        "tg:••••0001",
    ]
    assert "+447700900123" not in html and "22225678" not in html
    assert "Emergency: <strong>1</strong>" in html and "Urgent: <strong>1</strong>" in html


def test_filters_by_level_status_channel_and_date(client, auth, session_factory):
    add_flag(session_factory, "a", "urgent", channel="twilio", channel_user_id="+447700900111", now=T0)
    add_flag(session_factory, "b", "routine", channel_user_id="33330002", now=T0 + timedelta(days=2))
    auth.login("nurse")
    assert "tg:••••0002" not in client.get("/?level=urgent").get_data(as_text=True)
    assert "+44 ••• ••• 111" not in client.get("/?channel=telegram").get_data(as_text=True)
    assert "Nothing to review" in client.get("/?status=resolved").get_data(as_text=True)
    one_day = client.get("/?from=2024-05-01&to=2024-05-01").get_data(as_text=True)
    assert "+44 ••• ••• 111" in one_day and "tg:••••0002" not in one_day


def test_a_bad_date_is_reported_not_fatal(client, auth, session_factory):
    add_flag(session_factory)
    auth.login("nurse")
    response = client.get("/?from=yesterday")
    assert response.status_code == 200
    assert "Dates must look like" in response.get_data(as_text=True)


def test_the_export_has_the_flags_of_the_range_and_no_full_messages(client, auth, session_factory):
    first = add_flag(
        session_factory, "a", "urgent", message="my phone is 07700 900123 and I have a fever", now=T0
    )
    add_flag(session_factory, "b", "routine", now=T0 + timedelta(days=40))
    auth.login("nurse")
    auth.post(f"/flags/{first}/resolve", {"outcome": "contacted_patient", "note": '=HYPERLINK("x")'})
    response = client.get("/export.csv?from=2024-05-01&to=2024-05-31")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert (
        'filename="aftercare-flags-2024-05-01-to-2024-05-31.csv"' in response.headers["Content-Disposition"]
    )
    body = response.get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [row["flag_id"] for row in rows] == [str(first)]
    row = rows[0]
    assert (row["level"], row["status"], row["outcome"], row["resolved_by"]) == (
        "urgent",
        "resolved",
        "contacted_patient",
        "nurse",
    )
    assert row["patient"] == "tg:••••5678"
    assert row["created_at_utc"] == "2024-05-01T09:00:00+00:00"
    assert row["note"] == '\'=HYPERLINK("x")'
    assert row["link"] == f"https://dashboard.example/flags/{first}"
    assert "07700 900123" not in body
    with session_factory.begin() as session:
        entry = audit.entries(session=session, action="flags.export")[0]
        assert (entry.actor, entry.detail) == ("nurse", "from=2024-05-01 to=2024-05-31 rows=1")


def test_an_export_with_a_reversed_range_is_refused(client, auth, session_factory):
    auth.login("nurse")
    response = client.get("/export.csv?from=2024-05-31&to=2024-05-01")
    assert response.status_code == 302
