"""Request authentication: provider signatures, shared secrets and signed widget sessions.

Every comparison is constant-time, and every check answers a plain yes or no so the
connectors can reply 403 without saying which part was wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Optional

from bot.secrets_store import load_secret
from bot.settings import MIN_SECRET_LENGTH, Settings

META_SIGNATURE_PREFIX = "sha256="
WIDGET_SECRET_NAME = "widget_session_secret"


class ChannelConfigError(ValueError):
    """Raised when a channel cannot start safely with the configuration it was given."""


def meta_signature_valid(body: bytes, header: Optional[str], app_secret: str) -> bool:
    """Check Meta's ``X-Hub-Signature-256`` (HMAC-SHA256 of the raw body with the app secret)."""
    if not header or not app_secret or not header.startswith(META_SIGNATURE_PREFIX):
        return False
    expected = hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header[len(META_SIGNATURE_PREFIX) :].strip().lower())


def meta_signature(body: bytes, app_secret: str) -> str:
    """Return the ``X-Hub-Signature-256`` value Meta would send for ``body`` (for tests and tools)."""
    return META_SIGNATURE_PREFIX + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def secret_matches(given: Optional[str], expected: str) -> bool:
    """Compare a shared secret from a request header or query with the configured one."""
    if not given or not expected:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class SessionSigner:
    """Issue and verify widget session tokens ``v1.<session id>.<issued at>.<mac>``.

    The server chooses the session id, and the conversation id is derived from a verified
    token only, so a browser cannot read or write someone else's conversation by
    guessing or editing an id.
    """

    secret: bytes
    max_age_seconds: int = 30 * 24 * 3600

    VERSION = "v1"

    def _mac(self, session_id: str, issued: int) -> str:
        message = f"{self.VERSION}.{session_id}.{issued}".encode("ascii")
        return _b64(hmac.new(self.secret, message, hashlib.sha256).digest())

    def issue(self, now: Optional[float] = None) -> str:
        """Return a token for a new random session."""
        session_id = secrets.token_urlsafe(18)
        issued = int(now if now is not None else time.time())
        return f"{self.VERSION}.{session_id}.{issued}.{self._mac(session_id, issued)}"

    def verify(self, token: Optional[str], now: Optional[float] = None) -> Optional[str]:
        """Return the session id of a genuine, unexpired token, else None."""
        if not token or len(token) > 200:
            return None
        parts = token.strip().split(".")
        if len(parts) != 4 or parts[0] != self.VERSION or not _SESSION_ID.match(parts[1]):
            return None
        version, session_id, issued_text, mac = parts
        if not issued_text.isdigit():
            return None
        issued = int(issued_text)
        expected = self._mac(session_id, issued).encode("ascii")
        if not hmac.compare_digest(mac.encode("ascii", "replace"), expected):
            return None
        current = now if now is not None else time.time()
        if issued > current + 300 or current - issued > self.max_age_seconds:
            return None
        return session_id


def widget_secret(settings: Settings, configured: Optional[str]) -> bytes:
    """Return the widget signing secret: the configured one, else the one generated under ``var/secrets/``.

    There is no default in any mode. Replicas must share ``var/secrets/`` or set
    ``AFTERCARE_WIDGET_SECRET``; ``aftercare secrets rotate widget_session_secret`` (and a
    restart of Rasa) invalidates every widget session it signed.
    """
    if configured:
        if len(configured) < MIN_SECRET_LENGTH:
            raise ChannelConfigError(f"AFTERCARE_WIDGET_SECRET needs at least {MIN_SECRET_LENGTH} characters")
        return configured.encode("utf-8")
    return load_secret(WIDGET_SECRET_NAME, var_dir=settings.var_dir).encode("utf-8")
