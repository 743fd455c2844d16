"""Through the dashboard: an unauthenticated source knocking again and again is audited at a bounded rate."""

from __future__ import annotations

from bot.storage import audit


def test_a_flood_of_anonymous_requests_leaves_a_bounded_trail(client, session_factory) -> None:
    for _ in range(audit.REFUSALS_PER_WINDOW * 2):
        assert client.get("/admin/staff").status_code == 302
        assert client.get("/api/flags").status_code == 401
    with session_factory.begin() as session:
        denied = audit.entries(session=session, action=audit.ACCESS_DENIED, limit=1000)
        assert len(denied) == audit.REFUSALS_PER_WINDOW
        assert sum(entry.detail.endswith(audit.RATE_LIMITED) for entry in denied) == 1
