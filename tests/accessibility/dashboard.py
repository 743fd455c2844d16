"""A real dashboard server on a seeded database, and the list of its pages the checks visit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Dict, Optional

from bot.checkins.enrolment import EnrolmentRequest, enrol
from bot.media.intake import PhotoIntake, PhotoMessage
from bot.settings import CheckinSettings, Settings
from bot.storage import make_engine, make_session_factory, migrate, staff, utcnow
from bot.storage.flags import raise_flag, unresolved_flag
from bot.storage.takeover_flow import staff_reply, start_takeover
from tests.dashboard.conftest import T0
from tests.media.images import photo_bytes
from tests.storage.rasa_events import add_event, bot, create_rasa_events_table, slot, user

PASSWORD = "a11y-password-1"
PATIENT = "+447700900123"
PHOTO_CONVERSATION = "telegram:12345678"
# What the action server stores with a knowledge answer: the patient reads the title, staff the file.
ANSWER_SOURCE = {"source_files": "000_c9e12835174f2d55.txt", "knowledge_entry": "peeling_expected"}


def seed_new_screens(url: str, settings: Settings, flags: Dict[str, int]) -> None:
    """Add what the later screens show: a photo, a takeover with a staff reply, an enrolled patient."""
    engine = make_engine(url)
    factory = make_session_factory(engine)
    intake = PhotoIntake(url, settings.media_dir, 10 * 2**20, factory=factory)
    message = PhotoMessage("telegram", PHOTO_CONVERSATION, "12345678", "bot:1", caption="is this normal?")
    intake.store_bytes(message, photo_bytes("JPEG"))
    intake.flag(message)
    with factory.begin() as session:
        flag = unresolved_flag(session=session, conversation_id=PHOTO_CONVERSATION, kind="triage")
        assert flag is not None
        flags["photo"] = int(flag.id)
        start_takeover(session=session, conversation_id=PHOTO_CONVERSATION, staff="admin")
        staff_reply(
            session=session, conversation_id=PHOTO_CONVERSATION, staff="admin",
            text="Thank you for the photo: a nurse will call you this afternoon.", key="a11y-reply",
        )  # fmt: skip
        enrolment = enrol(
            session=session,
            request=EnrolmentRequest("twilio", "+447700900555", "dermapen", date.today()),
            check_in_days=(1, 3, 7), settings=CheckinSettings(), actor="staff:admin",
            now=utcnow(), consent_version="v1",
        )  # fmt: skip
        flags["enrolment"] = int(enrolment.id)
    engine.dispose()


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
    DashboardPage("conversation with a photo, a takeover and a staff reply", "/flags/{photo}"),
    DashboardPage("patients", "/patients"),
    DashboardPage("patient's check-ins", "/patients/{enrolment}"),
    DashboardPage("staff", "/admin/staff"),
    DashboardPage("audit log", "/admin/audit"),
    DashboardPage("alerts", "/admin/alerts"),
)
