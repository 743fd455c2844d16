"""A local stand-in for the WhatsApp Graph API, the Telegram Bot API and Twilio's REST API.

It listens on 127.0.0.1, answers like the real APIs do, and records every call so a test
can assert what the assistant sent, to whom, and how often.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Call:
    """One request the assistant made to a provider."""

    path: str
    headers: Dict[str, str]
    body: Any

    @property
    def method(self) -> str:
        """The API method: the last path segment (``messages``, ``sendMessage``, ``Messages.json``)."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]


class FakeProviders:
    """Serve ``/graph/...``, ``/telegram/...`` and ``/twilio/...`` on a free local port."""

    def __init__(self) -> None:
        self.calls: List[Call] = []
        # Media the fake's download endpoints serve, by id (see ``tests/media``), and failures to serve first.
        self.media: Dict[str, bytes] = {}
        self.media_failures = 0
        self.downloads: List[Call] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                with fake._lock:
                    fake.downloads.append(
                        Call(self.path, {k.lower(): v for k, v in self.headers.items()}, None)
                    )
                    failing = fake.media_failures > 0
                    fake.media_failures -= 1 if failing else 0
                status, content_type, payload = (
                    (503, "text/plain", b"busy") if failing else fake._media(self.path)
                )
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length).decode("utf-8")
                if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
                    body: Any = {k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()}
                else:
                    body = json.loads(raw) if raw else None
                with fake._lock:
                    fake.calls.append(Call(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                status, answer = fake._answer(self.path)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that hung up (the assistant stopping) is not the test's concern

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _answer(self, path: str) -> tuple[int, Any]:
        if path.startswith("/graph/"):
            return 200, {"messaging_product": "whatsapp", "messages": [{"id": f"wamid.out{len(self.calls)}"}]}
        if path.startswith("/telegram/"):
            return 200, {
                "ok": True,
                "result": True if path.endswith("answerCallbackQuery") else {"message_id": 1},
            }
        if path.startswith("/twilio/"):
            return 201, {"sid": f"SM{len(self.calls):032d}", "status": "queued"}
        return 404, {"error": "unknown path"}

    def _media(self, path: str) -> tuple[int, str, bytes]:
        """Media endpoints: WhatsApp lookup and download, Telegram getFile and file, Twilio media URL."""
        route, _, query = path.partition("?")
        name = route.rsplit("/", 1)[-1]
        if route.startswith("/telegram/") and route.endswith("/getFile"):
            file_id = parse_qs(query).get("file_id", [""])[0]
            found = file_id in self.media
            answer = {"ok": True, "result": {"file_id": file_id, "file_path": f"photos/{file_id}.jpg"}}
            return (
                (200 if found else 400),
                "application/json",
                json.dumps(answer if found else {"ok": False}).encode(),
            )
        if route.startswith("/graph/") and name in self.media and "/media-download/" not in route:
            return (
                200,
                "application/json",
                json.dumps({"url": f"{self.url}/graph/media-download/{name}"}).encode(),
            )
        key = name[: -len(".jpg")] if route.startswith("/telegram/") and name.endswith(".jpg") else name
        if key in self.media:
            return 200, "application/octet-stream", self.media[key]
        return 404, "application/json", b'{"error": "unknown media"}'

    def start(self) -> FakeProviders:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def matching(self, predicate: Callable[[Call], bool]) -> List[Call]:
        """The recorded calls for which ``predicate`` holds."""
        with self._lock:
            return [call for call in self.calls if predicate(call)]

    def wait_for(self, predicate: Callable[[Call], bool], count: int = 1, timeout: float = 90) -> List[Call]:
        """Wait until at least ``count`` calls match; fail with what was received otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.matching(predicate)
            if len(found) >= count:
                return found
            time.sleep(0.2)
        raise AssertionError(f"expected {count} matching provider call(s); got {self.calls!r}")


def whatsapp_texts(fake: FakeProviders, recipient: str) -> List[str]:
    """Texts the assistant sent to a WhatsApp recipient."""
    calls = fake.matching(lambda c: c.path.startswith("/graph/") and (c.body or {}).get("to") == recipient)
    return [c.body["text"]["body"] for c in calls if c.body.get("type") == "text"]


def telegram_texts(fake: FakeProviders, chat_id: str) -> List[str]:
    """Texts the assistant sent to a Telegram chat."""
    calls = fake.matching(
        lambda c: c.method == "sendMessage" and str((c.body or {}).get("chat_id")) == chat_id
    )
    return [c.body["text"] for c in calls]


def twilio_texts(fake: FakeProviders, recipient: str) -> List[str]:
    """Texts the assistant sent to a Twilio recipient."""
    calls = fake.matching(lambda c: c.method == "Messages.json" and (c.body or {}).get("To") == recipient)
    return [c.body["Body"] for c in calls]


def sent_to(fake: FakeProviders, channel: str, recipient: str) -> List[str]:
    """Texts the assistant sent to ``recipient`` on ``channel``."""
    reader: Optional[Callable[[FakeProviders, str], List[str]]] = {
        "whatsapp": whatsapp_texts,
        "telegram": telegram_texts,
        "twilio": twilio_texts,
    }.get(channel)
    assert reader is not None, channel
    return reader(fake, recipient)


class ClinicWebsite:
    """A clinic's own website on another origin, embedding the widget with its one script tag."""

    def __init__(self) -> None:
        self.script_url = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                page = (
                    "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Clinic</title>"
                    "</head><body><h1>Example clinic</h1>"
                    f"<script src='{site.script_url}' defer></script></body></html>"
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> ClinicWebsite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
