"""Login enforcement, roles, CSRF tokens, session cookies and security headers.

Every route needs a logged-in, enabled staff member except the ones in
``PUBLIC_ENDPOINTS``; that is enforced once, here, rather than per view, so a new
view cannot forget it.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import wraps
from typing import Any, Callable, Optional, TypeVar, cast

from flask import Flask, Response, abort, current_app, g, redirect, request, session, url_for
from flask.sessions import SecureCookieSessionInterface

from bot.dashboard.db import transaction
from bot.storage.models import StaffUser
from bot.storage.vocabulary import ROLE_ADMIN

PUBLIC_ENDPOINTS = frozenset({"auth.login", "static"})
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
    """Mark the session cookie Secure when configured, or whenever the request came over HTTPS."""

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


def start_session(user: StaffUser) -> None:
    """Log ``user`` in with a brand-new session (and CSRF token)."""
    session.clear()
    session.permanent = True
    session["user_id"] = user.id
    session["fingerprint"] = password_fingerprint(user)
    csrf_token()


def _load_user() -> Optional[StaffUser]:
    user_id = session.get("user_id")
    if user_id is None:
        return None
    with transaction() as db:
        user = db.get(StaffUser, user_id)
    if user is None or not user.active or session.get("fingerprint") != password_fingerprint(user):
        session.clear()
        return None
    return user


def safe_next(target: Optional[str]) -> Optional[str]:
    """Allow only same-site paths as a post-login destination."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def enforce_login_and_csrf() -> Optional[Response]:
    """Run before every request: load the user, require login, check CSRF on POST."""
    if request.endpoint == "static":
        g.user = None
        return None
    g.user = _load_user()
    if request.endpoint not in PUBLIC_ENDPOINTS and g.user is None:
        if request.method in SAFE_METHODS:
            return cast(Response, redirect(url_for("auth.login", next=request.full_path.rstrip("?"))))
        abort(401)
    if request.method not in SAFE_METHODS:
        sent = request.form.get(CSRF_FIELD, "")
        expected = session.get(CSRF_FIELD, "")
        if not expected or not hmac.compare_digest(str(sent).encode(), str(expected).encode()):
            abort(400, description="csrf")
    return None


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
