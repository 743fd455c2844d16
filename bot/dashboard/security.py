"""Login enforcement, roles, CSRF tokens, session cookies and security headers.

Every route needs a logged-in, enabled staff member except the ones in
``PUBLIC_ENDPOINTS``; that is enforced once, here, rather than per view, so a new
view cannot forget it. Under ``/api`` the staff member is named by a Bearer API token
instead (never by the session cookie, so no CSRF token is needed there: a browser never
sends the header by itself).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import wraps
from typing import Any, Callable, Optional, TypeVar, cast
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from bot.dashboard.db import EXTENSION, record, record_refusal, transaction
from bot.storage import api_tokens, staff_sessions
from bot.storage.db import utcnow
from bot.storage.models import StaffUser
from bot.storage.vocabulary import ROLE_ADMIN

PUBLIC_ENDPOINTS = frozenset({"auth.login", "static"})
# Paths fetched by an <img> tag or a tool, not a person: 401 instead of a login page.
NO_LOGIN_REDIRECT = ("/media/",)
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)

View = TypeVar("View", bound=Callable[..., Any])


class SessionInterface(SecureCookieSessionInterface):
    """Sign with the current key (so rotation applies at once); Secure over HTTPS or when configured."""

    def get_signing_serializer(self, app: Flask) -> Optional[URLSafeTimedSerializer]:
        key = app.extensions[EXTENSION].session_key()
        return URLSafeTimedSerializer(
            key,
            salt=self.salt,
            serializer=self.serializer,
            signer_kwargs={"key_derivation": self.key_derivation, "digest_method": self.digest_method},
        )

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"] or (request and request.is_secure))


def password_fingerprint(user: StaffUser) -> str:
    """Return a short digest of the password hash; a password change ends old sessions."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:16]


def csrf_token() -> str:
    """Return this session's CSRF token, creating it on first use."""
    token = session.get(CSRF_FIELD)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_FIELD] = token
    return str(token)


def start_session(user: StaffUser, token: str) -> None:
    """Log ``user`` in with a brand-new cookie (and CSRF token) naming server-side session ``token``."""
    session.clear()
    session.permanent = True
    session["user_id"] = user.id
    session["sid"] = token
    session["fingerprint"] = password_fingerprint(user)
    csrf_token()


def _load_user() -> Optional[StaffUser]:
    user_id = session.get("user_id")
    if user_id is None:
        return None
    with transaction() as db:
        live = staff_sessions.live(session=db, token=session.get("sid"), now=utcnow())
        user = db.get(StaffUser, user_id) if live is not None and live.user_id == user_id else None
    if user is None or not user.active or session.get("fingerprint") != password_fingerprint(user):
        session.clear()
        return None
    return user


def safe_next(target: Optional[str]) -> Optional[str]:
    """Allow only a same-site path (``/queue?x=1``) as the post-login destination.

    Browsers drop tabs and newlines from URLs and read a backslash as ``/``, so ``/<tab>/evil``
    or ``/<backslash>evil`` would leave the site: only printable ASCII without a backslash passes.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(not 0x21 <= ord(char) <= 0x7E or char == "\\" for char in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


API_PREFIX = "/api"


def is_api_request() -> bool:
    """Whether the request is for the JSON API (Bearer tokens, JSON errors)."""
    return request.path == API_PREFIX or request.path.startswith(API_PREFIX + "/")


def bearer_token() -> Optional[str]:
    """The token of ``Authorization: Bearer <token>``, if the request has one."""
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _enforce_api_token() -> None:
    with transaction() as db:
        g.user = api_tokens.staff_for_token(session=db, token=bearer_token(), now=utcnow())
    if g.user is None:
        g.denied = "api_token"
        abort(401)
    g.api = True


def enforce_login_and_csrf() -> Optional[Response]:
    """Run before every request: load the user, require login, check CSRF on POST."""
    if request.endpoint == "static":
        g.user = None
        return None
    # Photos answer to the API token too: the API's attachments name them (docs/photos.md).
    if is_api_request() or (request.path.startswith(NO_LOGIN_REDIRECT) and bearer_token()):
        _enforce_api_token()
        return None
    g.user = _load_user()
    if request.endpoint not in PUBLIC_ENDPOINTS and g.user is None:
        g.denied = "login_required"
        if request.method in SAFE_METHODS and not request.path.startswith(NO_LOGIN_REDIRECT):
            return cast(Response, redirect(url_for("auth.login", next=request.full_path.rstrip("?"))))
        abort(401)
    if request.method not in SAFE_METHODS:
        sent = request.form.get(CSRF_FIELD, "")
        expected = session.get(CSRF_FIELD, "")
        if not expected or not hmac.compare_digest(str(sent).encode(), str(expected).encode()):
            g.denied = "csrf"
            abort(400, description="csrf")
    return None


def audit_request(response: Response) -> Response:
    """Run after every request: audit each authenticated page and each denied request.

    Views that write a more specific entry (a login, a flag resolved) are not audited twice.
    Only the path goes in, never the query string (filters could hold patient words).
    """
    if request.endpoint == "static" or g.get("audited"):
        return response
    denied = g.get("denied") or ("forbidden" if response.status_code == 403 else None)
    if denied is None and g.get("user") is None:
        return response
    with transaction() as db:
        if denied is not None:
            record_refusal(db, target=request.path[:255], detail=f"{request.method} {denied}")
        else:
            record(
                db,
                "page.view",
                target=request.path[:255],
                detail=f"{request.method} {request.endpoint} {response.status_code}",
            )
    return response


def add_security_headers(response: Response) -> Response:
    """Run after every request: no framing, no inline script, no caching of patient pages."""
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
    if current_app.config["SESSION_COOKIE_SECURE"]:
        response.headers["Strict-Transport-Security"] = "max-age=31536000"
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
    return response


def admin_required(view: View) -> View:
    """Allow a view to admins only (403 for reviewers)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if g.user is None or g.user.role != ROLE_ADMIN:
            abort(403)
        return view(*args, **kwargs)

    return cast(View, wrapped)
