"""Serving the dashboard with werkzeug's threaded WSGI server.

A clinic's review dashboard has a handful of users on an internal network, so the
standard library-grade threaded server is enough; put a TLS-terminating reverse proxy
(nginx, Caddy) in front of it when it is reachable beyond one machine.
"""

from __future__ import annotations

import threading
from typing import Optional

from flask import Flask
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the ``Server: Werkzeug/x Python/y`` banner on every response."""

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() == "server":
            return
        super().send_header(keyword, value)


class DashboardServer:
    """One running dashboard: serve in the foreground or in a background thread."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 5056) -> None:
        self.server: BaseWSGIServer = make_server(
            host, port, app, threaded=True, request_handler=QuietRequestHandler
        )
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.server_port}"

    def serve_forever(self) -> None:
        """Serve until :meth:`shutdown` is called from another thread (or Ctrl-C)."""
        self.server.serve_forever()

    def start(self) -> DashboardServer:
        """Serve in a daemon thread and return at once."""
        self._thread = threading.Thread(target=self.serve_forever, name="aftercare-dashboard", daemon=True)
        self._thread.start()
        return self

    def shutdown(self) -> None:
        """Stop serving and close the socket."""
        self.server.shutdown()
        self.server.server_close()
        if self._thread is not None:
            self._thread.join()
