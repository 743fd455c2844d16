"""Real local receivers for alerts: an SMTP server (aiosmtpd) and an HTTP webhook endpoint."""

from __future__ import annotations

import json
import threading
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import sessionmaker

from bot.storage import make_engine, make_session_factory
from bot.storage.models import Base
from tests.postgres import free_port


@pytest.fixture
def session_factory(tmp_path) -> Iterator[sessionmaker]:
    engine = make_engine(f"sqlite:///{tmp_path / 'aftercare.db'}")
    Base.metadata.create_all(engine)
    yield make_session_factory(engine)
    engine.dispose()


class MailSink:
    """An aiosmtpd handler that keeps messages, and can refuse the first few with a temporary error."""

    def __init__(self) -> None:
        self.messages: List[Message] = []
        self.envelopes: List[List[str]] = []
        self.refuse_next = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        if self.refuse_next > 0:
            self.refuse_next -= 1
            return "451 4.3.0 Try again later"
        self.envelopes.append(list(envelope.rcpt_tos))
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[Dict[str, Any]]:
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield {"sink": sink, "host": "127.0.0.1", "port": port}
    finally:
        controller.stop()


class WebhookReceiver(ThreadingHTTPServer):
    """Collects JSON posts; answers with the queued status codes first, then 200."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _WebhookHandler)
        self.bodies: List[Dict[str, Any]] = []
        self.statuses: List[int] = []
        self.lock = threading.Lock()
        self.received = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hooks/alerts"


class _WebhookHandler(BaseHTTPRequestHandler):
    server: WebhookReceiver

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            status = self.server.statuses.pop(0) if self.server.statuses else 200
            if status == 200:
                self.server.bodies.append(json.loads(body))
                self.server.received.set()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok" if status == 200 else b"server error")

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        receiver.shutdown()
        receiver.server_close()
