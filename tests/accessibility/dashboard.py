"""A real dashboard server on a seeded database, and the list of its pages the checks visit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Dict, Optional

from bot.storage import make_engine, make_session_factory, migrate, staff
from bot.storage.flags import raise_flag
from tests.dashboard.conftest import T0
from tests.storage.rasa_events import add_event, bot, create_rasa_events_table, slot, user

PASSWORD = "a11y-password-1"
PATIENT = "+447700900123"
# What the action server stores with a knowledge answer: the patient reads the title, staff the file.
ANSWER_SOURCE = {"source_files": "000_c9e12835174f2d55.txt", "knowledge_entry": "peeling_expected"}


def seed(url: str) -> Dict[str, int]:
    """Migrate a fresh database with an admin, a reviewer, two flags and a transcript; return the flag ids."""
    engine = make_engine(url)
    migrate.upgrade(engine)
    with make_session_factory(engine).begin() as session:
        staff.create_staff(session=session, username="admin", password=PASSWORD, role="admin")
        staff.create_staff(session=session, username="nurse", password=PASSWORD, role="reviewer")
        urgent = raise_flag(
            session=session, channel_user_id=PATIENT, conversation_id=PATIENT, channel="twilio",
            level="urgent", kind="triage", reason="Fever after treatment", rule="fever_over_38",
            matched_text="fever", message="I think I have a fever, 38.6 this morning",
            now=T0 - timedelta(minutes=2),
        )  # fmt: skip
        emergency = raise_flag(
            session=session, channel_user_id="81234567", conversation_id="81234567", channel="telegram",
            level="emergency", kind="triage", reason="Possible allergic reaction",
            rule="allergy_breathing", matched_text="hard to breathe",
            message="my lips are swelling and it is hard to breathe", now=T0 - timedelta(minutes=20),
        )  # fmt: skip
        ids = {"urgent": urgent.id, "emergency": emergency.id}
    create_rasa_events_table(engine)
    t = T0.timestamp()
    answer = bot("Peeling is expected.\n\nSource: Smart Skin Clinic — peeling after Dermapen", t - 299)
    answer["metadata"] = dict(ANSWER_SOURCE)
    for event in (
        user("my skin is peeling, can I peel it off?", "ask_peel_off", t - 300),
        answer,
        user("I think I have a fever, 38.6 this morning", "report_fever", t - 120),
        slot("triage_level", "urgent", t - 119),
        bot(
            "A fever after a skin treatment needs a doctor's opinion: please call the clinic today.", t - 118
        ),
    ):
        add_event(engine, PATIENT, event)
    engine.dispose()
    return ids


def log_in(page: Any, base_url: str, username: str) -> None:
    """Log in through the login form, as staff do."""
    page.goto(f"{base_url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("h1:has-text('Flagged conversations')")


@dataclass(frozen=True)
class DashboardPage:
    """One dashboard page: its path (``{urgent}``/``{emergency}`` name seeded flags) and who views it."""

    name: str
    path: str
    username: Optional[str] = "admin"

    def open(self, page: Any, base_url: str, flags: Dict[str, int]) -> None:
        if self.username:
            log_in(page, base_url, self.username)
        page.goto(base_url + self.path.format(**flags))


# Every dashboard page the accessibility checks cover. A new screen (patients, photos) adds a row.
DASHBOARD_PAGES = (
    DashboardPage("login", "/login", username=None),
    DashboardPage("queue", "/"),
    DashboardPage("queue as reviewer", "/", username="nurse"),
    DashboardPage("conversation with a flag", "/flags/{urgent}"),
    DashboardPage("staff", "/admin/staff"),
    DashboardPage("audit log", "/admin/audit"),
    DashboardPage("alerts", "/admin/alerts"),
)
