"""A running assistant with every channel on, pointed at local fake provider APIs.

Started once per test session for the slow channel tests: the real action server and
Rasa server, with ``var/credentials.yml`` written by ``bot.channels.config`` from the
test's environment (the same path ``aftercare run`` takes).
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple

import pytest
import yaml

from bot.channels.config import runtime_credentials
from bot.cli.run import build_services
from bot.knowledge import get_clinic_settings
from bot.settings import PROJECT_ROOT, Settings
from bot.storage import api_tokens, make_engine, make_session_factory, staff
from bot.supervisor import Supervisor
from tests.channels.fake_providers import ClinicWebsite, FakeProviders
from tests.channels.payloads import PHONE_NUMBER_ID
from tests.stack import Stack, _Log, free_port, upgrade_database

PUBLIC_URL = "https://assistant.example.org"
SECRETS = {
    "AFTERCARE_WHATSAPP_VERIFY_TOKEN": "verify-me-please",
    "AFTERCARE_WHATSAPP_APP_SECRET": "whatsapp-app-secret",
    "AFTERCARE_WHATSAPP_ACCESS_TOKEN": "EAAG-test-access-token",
    "AFTERCARE_WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
    "AFTERCARE_TELEGRAM_TOKEN": "123456:ABC-test-token",
    "AFTERCARE_TELEGRAM_SECRET_TOKEN": "telegram-secret_token-1",
    "AFTERCARE_TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000000",
    "AFTERCARE_TWILIO_AUTH_TOKEN": "twilio-auth-token",
    "AFTERCARE_TWILIO_NUMBER": "+15005550006",
    "AFTERCARE_WIDGET_SECRET": "widget-secret-for-tests-0123456789",
}


@dataclass
class ChannelStack:
    """The running assistant, the fake provider APIs, and the secrets they share."""

    stack: Stack
    fake: FakeProviders
    clinic_site: ClinicWebsite
    secrets: Mapping[str, str]
    credentials: Path

    @property
    def url(self) -> str:
        return self.stack.rasa_url

    def post(self, path: str, body: bytes, headers: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
        """POST raw bytes; return (status, body text) whatever the status."""
        request = urllib.request.Request(f"{self.url}{path}", data=body, headers=headers or {}, method="POST")
        return _send(request)

    def get(self, path: str, headers: Optional[Dict[str, str]] = None) -> Tuple[int, str]:
        """GET; return (status, body text) whatever the status."""
        return _send(urllib.request.Request(f"{self.url}{path}", headers=headers or {}))

    def tracker(self, conversation: str) -> Dict[str, Any]:
        """A conversation's tracker (ids like ``twilio:+44...`` go raw: Rasa does not unquote paths)."""
        return self.stack.tracker(conversation)

    def user_events(self, conversation: str) -> List[Dict[str, Any]]:
        """The conversation's user events, from Rasa's HTTP API."""
        return [e for e in self.tracker(conversation).get("events", []) if e.get("event") == "user"]

    def settled_user_texts(self, sender: str, count: int, timeout: float = 90) -> List[str]:
        """Wait until ``count`` messages were handled to the end of their turn; return the user texts."""

        def settled() -> Optional[List[str]]:
            events = self.tracker(sender).get("events", [])
            users = [e.get("text") for e in events if e.get("event") == "user"]
            listening = bool(events) and events[-1].get("name") == "action_listen"
            return users if len(users) >= count and listening else None

        return wait_until(settled, timeout=timeout)


def _send(request: urllib.request.Request) -> Tuple[int, str]:
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


def _start(
    model: Path, var_dir: Path, fake: FakeProviders, clinic_origin: str, timeout: float = 300
) -> Tuple[Stack, Path]:
    var_dir.mkdir(parents=True, exist_ok=True)
    database_url = f"sqlite:///{var_dir / 'aftercare.db'}"
    token = "test-token-" + var_dir.name
    env = {
        **dict(os.environ),
        **SECRETS,
        "AFTERCARE_WHATSAPP_API_BASE": f"{fake.url}/graph",
        "AFTERCARE_TELEGRAM_API_BASE": f"{fake.url}/telegram",
        "AFTERCARE_TWILIO_API_BASE": f"{fake.url}/twilio",
        "AFTERCARE_PUBLIC_URL": PUBLIC_URL,
        "AFTERCARE_WIDGET_ORIGINS": clinic_origin,
        "AFTERCARE_DATABASE_URL": database_url,
        "AFTERCARE_VAR_DIR": str(var_dir),
        "RASA_AUTH_TOKEN": token,
        "TF_CPP_MIN_LOG_LEVEL": "2",
    }
    settings = dataclasses.replace(
        Settings.from_env(env), rasa_port=free_port(), action_port=free_port(), var_dir=var_dir
    )
    credentials = runtime_credentials(settings)
    upgrade_database(env, settings.project_root)
    services = build_services(settings, model, token, with_dashboard=False)
    for service in services:
        command = list(service.command)
        if "--credentials" in command:
            command[command.index("--credentials") + 1] = str(credentials)
            service.command = command
        service.env.update(
            {k: v for k, v in env.items() if k.startswith("AFTERCARE_") or k == "RASA_AUTH_TOKEN"}
        )
    log = _Log()
    supervisor = Supervisor(services, cwd=str(settings.project_root), out=log)
    supervisor.start()
    if not supervisor.wait_until_up(timeout):
        supervisor.stop()
        raise RuntimeError("assistant did not start:\n" + log.getvalue()[-6000:])
    known = {field.name for field in dataclasses.fields(Stack)}
    values = {
        "rasa_url": f"http://127.0.0.1:{settings.rasa_port}",
        "action_url": f"http://127.0.0.1:{settings.action_port}",
        "dashboard_url": "",
        "token": token,
        "database_url": database_url,
        "supervisor": supervisor,
        "log": log,
        "env": env,
    }
    return Stack(**{name: value for name, value in values.items() if name in known}), credentials


@pytest.fixture(scope="session")
def channel_stack(trained_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChannelStack]:
    """The assistant with the widget, WhatsApp, Telegram and Twilio channels on."""
    fake = FakeProviders().start()
    site = ClinicWebsite().start()
    try:
        stack, credentials = _start(trained_model, tmp_path_factory.mktemp("channels"), fake, site.origin)
    except Exception:
        fake.stop()
        site.stop()
        raise
    site.script_url = f"{stack.rasa_url}/webhooks/widget/static/widget.js"
    try:
        yield ChannelStack(stack=stack, fake=fake, clinic_site=site, secrets=SECRETS, credentials=credentials)
    finally:
        stack.stop()
        fake.stop()
        site.stop()


RESPONSES = yaml.safe_load((PROJECT_ROOT / "domain.yml").read_text(encoding="utf-8"))["responses"]


def rendered_responses(name: str) -> Tuple[str, ...]:
    """A domain response as the patient may read it in opening hours and out of them."""
    return tuple(dict.fromkeys(rendered_response(name, at) for at in _an_open_and_a_closed_moment()))


def _an_open_and_a_closed_moment() -> Tuple[datetime, ...]:
    """The next moment the clinic is open and the next it is closed (within a week, if ever)."""
    hours = get_clinic_settings().deadlines.hours
    start = datetime.now(timezone.utc)
    found: Dict[bool, datetime] = {}
    for quarter in range(7 * 24 * 4):
        moment = start + timedelta(minutes=15 * quarter)
        found.setdefault(hours.is_open(moment), moment)
    return tuple(found.values())


def rendered_response(name: str, at: Optional[datetime] = None) -> str:
    """A domain response as the patient reads it at ``at`` (now), filled with the clinic's values.

    Like Rasa: the variant for the clinic's opening hours then (``clinic_open``), the targets
    that run then.
    """
    clinic = get_clinic_settings()
    moment = at or datetime.now(timezone.utc)
    slots = {"clinic_open": clinic.deadlines.hours.is_open(moment)}
    variants = RESPONSES[name]
    matching = [v for v in variants if v.get("condition") and _matches(v["condition"], slots)]
    chosen = matching[0] if matching else next(v for v in variants if not v.get("condition"))
    return chosen["text"].format(**clinic.as_template_values(moment))


def _matches(condition: List[Dict[str, Any]], slots: Mapping[str, Any]) -> bool:
    return all(slots.get(item["name"]) == item["value"] for item in condition)


def json_body(payload: Any) -> bytes:
    return json.dumps(payload).encode()


def wait_until(condition, timeout: float = 90, interval: float = 0.2):  # type: ignore[no-untyped-def]
    """Poll ``condition`` until it returns something truthy; fail after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def pending_inbox(database_url: str, channel: str, message_id: str) -> Optional[str]:
    """The status of one inbox entry (None when it was never received)."""
    from bot.storage import make_engine, make_session_factory
    from bot.storage.inbox import find_entry

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            entry = find_entry(session=session, channel=channel, message_id=message_id)
            return entry.status if entry is not None else None
    finally:
        engine.dispose()


def flags_of(database_url: str, conversation_id: str) -> List[Dict[str, Any]]:
    """The staff flags stored for a conversation."""
    from sqlalchemy import select

    from bot.storage import make_engine, make_session_factory
    from bot.storage.models import Flag

    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as session:
            flags = session.execute(select(Flag).where(Flag.conversation_id == conversation_id)).scalars()
            return [
                {"kind": f.kind, "level": f.level, "channel": f.channel, "channel_user_id": f.channel_user_id}
                for f in flags
            ]
    finally:
        engine.dispose()


def knowledge_answer(intent: str) -> str:
    """The knowledge base's answer text for ``intent``, as the assistant words it."""
    from bot.knowledge import get_knowledge_base

    return get_knowledge_base().answer(intent).text


STAFF_PASSWORD = "nurse-password-123"


@dataclass
class Dashboard:
    """The running dashboard and the staff members' API tokens."""

    url: str
    tokens: Dict[str, str]

    def call(
        self,
        method: str,
        path: str,
        body: Optional[Any] = None,
        token: Optional[str] = "nurse",
        **headers: str,
    ) -> Tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else None
        all_headers = {"Content-Type": "application/json", **headers}
        if token:
            all_headers["Authorization"] = f"Bearer {self.tokens[token]}"
        request = urllib.request.Request(f"{self.url}{path}", data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")


@pytest.fixture(scope="session")
def dashboard(channel_stack) -> Iterator[Dashboard]:
    """``aftercare dashboard`` on the assistant's database, with two staff members and their API tokens."""
    env = dict(channel_stack.stack.env)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "dashboard", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    engine = make_engine(channel_stack.stack.database_url)
    tokens = {}
    with make_session_factory(engine).begin() as session:
        for name in ("nurse", "boss"):
            user = staff.get_staff(session=session, username=name) or staff.create_staff(
                session=session, username=name, password=STAFF_PASSWORD, role="reviewer"
            )
            tokens[name] = api_tokens.create_token(session=session, staff=user)[1]
    engine.dispose()
    board = Dashboard(f"http://127.0.0.1:{port}", tokens)
    try:
        wait_until(lambda: _answers(board), timeout=120)
        yield board
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def _answers(board: Dashboard) -> bool:
    try:
        return board.call("GET", "/api/flags")[0] == 200
    except (urllib.error.URLError, ConnectionError):
        return False
