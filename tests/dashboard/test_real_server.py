"""The real ``aftercare dashboard`` process, started with no key in its environment, over real sockets.

It must sign sessions with a key no one can read in our source, throttle by (user, client
address) so an attacker at 127.0.0.2 cannot lock out the nurse at 127.0.0.1, end a session
for good at logout, and never announce its server software.
"""

from __future__ import annotations

import ast
import hashlib
import http.client
import re
import signal
import time
import urllib.parse
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import pytest
import requests
from argon2 import PasswordHasher
from flask.json.tag import TaggedJSONSerializer
from itsdangerous import BadSignature, URLSafeTimedSerializer

from bot.settings import PROJECT_ROOT
from bot.storage import audit, make_engine, make_session_factory, migrate, staff
from tests.dashboard.conftest import PASSWORDS
from tests.dashboard.test_cli import dashboard_process
from tests.postgres import free_port

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
COOKIE = "aftercare_session"


class Browser:
    """A cookie-keeping HTTP client whose connections leave from one loopback address."""

    def __init__(self, port: int, address: str = "127.0.0.1") -> None:
        self.port = port
        self.address = address
        self.cookies: Dict[str, str] = {}
        self.responses: List[http.client.HTTPResponse] = []

    def request(
        self, method: str, path: str, form: Optional[Dict[str, str]] = None
    ) -> Tuple[http.client.HTTPResponse, str]:
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=30, source_address=(self.address, 0)
        )
        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                if morsel.value and not morsel["expires"].startswith("Thu, 01 Jan 1970"):
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        self.responses.append(response)
        return response, text

    def login(self, username: str = "nurse", password: Optional[str] = None) -> int:
        _, page = self.request("GET", "/login")
        match = _CSRF.search(page)
        assert match, page
        response, _ = self.request(
            "POST",
            "/login",
            {"username": username, "password": password or PASSWORDS[username], "csrf_token": match.group(1)},
        )
        return response.status

    def post(self, path: str) -> http.client.HTTPResponse:
        _, page = self.request("GET", "/")
        match = _CSRF.search(page)
        assert match, page
        response, _ = self.request("POST", path, {"csrf_token": match.group(1)})
        return response


class RunningDashboard:
    def __init__(self, port: int, var_dir: Path, database_url: str) -> None:
        self.port = port
        self.var_dir = var_dir
        self.database_url = database_url

    def logins(self) -> List[Tuple[str, str, Optional[str]]]:
        """Return (action, detail, client address) of every login entry in the audit log, oldest first."""
        engine = make_engine(self.database_url)
        try:
            with make_session_factory(engine).begin() as session:
                entries = audit.entries(session=session, action="login.", limit=1000)
                return [(entry.action, entry.detail or "", entry.ip) for entry in reversed(entries)]
        finally:
            engine.dispose()


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDashboard]:
    tmp_path = tmp_path_factory.mktemp("real-dashboard")
    database_url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(staff, "password_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
        with make_session_factory(engine).begin() as session:
            for name, role in (("nurse", "reviewer"), ("boss", "admin")):
                staff.create_staff(session=session, username=name, password=PASSWORDS[name], role=role)
    engine.dispose()
    port = free_port()
    process = dashboard_process(
        tmp_path, DASHBOARD_PORT=str(port), AFTERCARE_LOGIN_DELAY_SECONDS="600", AFTERCARE_ENV="production"
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            try:
                requests.get(f"http://127.0.0.1:{port}/login", timeout=5)
                break
            except requests.ConnectionError:
                time.sleep(0.2)
        assert process.poll() is None, process.communicate()[1]
        yield RunningDashboard(port, tmp_path / "var", database_url)
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=60)


def string_literals(root: Path) -> List[str]:
    """Every str and bytes constant in the Python source under ``root``."""
    found = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, (str, bytes)) and node.value:
                value = node.value
                found.add(value.decode("latin-1") if isinstance(value, bytes) else value)
    return sorted(found)


def cookie_reader(key: str) -> URLSafeTimedSerializer:
    """Read a cookie exactly as Flask's session interface signs it."""
    return URLSafeTimedSerializer(
        key,
        salt="cookie-session",
        serializer=TaggedJSONSerializer(),
        signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
    )


def test_no_string_literal_in_bot_verifies_the_session_cookie(dashboard):
    browser = Browser(dashboard.port)
    assert browser.login("nurse") == 302
    cookie = browser.cookies[COOKIE]
    literals = string_literals(PROJECT_ROOT / "bot")
    assert len(literals) > 1000  # the scan really read the source
    verified = []
    for literal in literals:
        try:
            cookie_reader(literal).loads(cookie)
        except BadSignature:
            continue
        verified.append(literal)
    assert verified == []
    # The check can succeed: the key generated into this install's var/secrets verifies it.
    generated = (dashboard.var_dir / "secrets" / "dashboard_session_key").read_text()
    assert generated not in literals
    assert cookie_reader(generated).loads(cookie)["user_id"] > 0


def test_ten_failures_from_127_0_0_2_do_not_stop_the_right_password_from_127_0_0_1(dashboard):
    before = len(dashboard.logins())
    attacker = Browser(dashboard.port, "127.0.0.2")
    for _ in range(10):
        assert attacker.login("nurse", "not the password") == 401
    assert attacker.login("nurse") == 401  # the attacker's address is held back
    nurse = Browser(dashboard.port, "127.0.0.1")
    assert nurse.login("nurse") == 302
    response, _ = nurse.request("GET", "/")
    assert response.status == 200
    logins = dashboard.logins()[before:]
    failures = [(detail, address) for action, detail, address in logins if action == "login.failure"]
    assert failures == [("bad_password", "127.0.0.2")] * 3 + [("throttled", "127.0.0.2")] * 8
    assert logins[-1] == ("login.success", "", "127.0.0.1")
    # Admins hear of it: one alert entry, raised at the fifth failure, from the attacker's address.
    assert [(action, address) for action, _, address in logins if action == "login.alert"] == [
        ("login.alert", "127.0.0.2")
    ]


def test_after_logout_a_replayed_cookie_is_refused(dashboard):
    browser = Browser(dashboard.port)
    assert browser.login("boss") == 302
    stolen = dict(browser.cookies)
    assert browser.post("/logout").status == 302
    thief = Browser(dashboard.port)
    thief.cookies = stolen
    response, _ = thief.request("GET", "/admin/audit")
    assert response.status == 302 and response.headers["Location"].startswith("/login")


def test_no_response_names_the_server_software(dashboard):
    browser = Browser(dashboard.port)
    browser.request("GET", "/")
    browser.request("GET", "/login")
    browser.request("GET", "/static/style.css")
    browser.request("GET", "/no-such-page")
    browser.request("POST", "/login", {"username": "nurse", "password": "x"})  # no CSRF token: 400
    browser.login("nurse")
    browser.request("GET", "/")
    assert {response.status for response in browser.responses} >= {200, 302, 400}
    for response in browser.responses:
        assert response.getheader("Server") is None
        assert not [value for _, value in response.getheaders() if "Werkzeug" in value or "Python/" in value]
