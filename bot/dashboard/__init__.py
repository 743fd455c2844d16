"""The staff review dashboard: a small Flask application (see ``docs/dashboard.md``).

Build it with :func:`create_app`; ``aftercare dashboard`` serves it and runs the alert
worker next to it.
"""

from __future__ import annotations

from typing import Optional

from flask import Flask, jsonify, render_template
from flask.typing import ResponseReturnValue
from sqlalchemy.orm import sessionmaker
from werkzeug.exceptions import HTTPException
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.alerts.config import AlertConfig
from bot.dashboard import admin, api, auth, contacts, flags, media, patients, presentation, queue
from bot.dashboard.config import DashboardConfig, session_key_source
from bot.dashboard.db import EXTENSION, DashboardState
from bot.dashboard.security import (
    SessionInterface,
    add_security_headers,
    audit_request,
    enforce_login_and_csrf,
    is_api_request,
)
from bot.settings import Settings, process_settings
from bot.storage import make_engine, make_session_factory

__all__ = ["create_app"]


def create_app(
    settings: Optional[Settings] = None, *, session_factory: Optional[sessionmaker] = None
) -> Flask:
    """Build the dashboard for ``settings`` (default: from the environment).

    Signs sessions with ``AFTERCARE_SECRET_KEY`` if set (refusing a short one), else with a
    key generated once into ``var/secrets/``; there is no default key. ``session_factory``
    lets tests and the CLI share an engine; otherwise one is made
    from ``settings.database_url``. The schema must exist (``aftercare db upgrade``).
    """
    settings = settings or process_settings()
    session_key = session_key_source(settings)
    config = DashboardConfig.from_settings(settings)
    if session_factory is None:
        session_factory = make_session_factory(make_engine(settings.database_url))

    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=session_key(),
        SESSION_COOKIE_NAME="aftercare_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.https,
        PERMANENT_SESSION_LIFETIME=config.session_lifetime,
        MAX_CONTENT_LENGTH=64 * 1024,
    )
    app.session_interface = SessionInterface()
    if config.trusted_proxies:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=config.trusted_proxies,
            x_proto=config.trusted_proxies,
            x_host=config.trusted_proxies,
        )
    app.extensions[EXTENSION] = DashboardState(
        settings=settings,
        config=config,
        alerts=AlertConfig.from_settings(settings),
        session_factory=session_factory,
        session_key=session_key,
    )

    app.before_request(enforce_login_and_csrf)
    app.after_request(add_security_headers)
    app.after_request(audit_request)
    presentation.install(app)
    for blueprint in (auth.bp, queue.bp, flags.bp, contacts.bp, admin.bp, api.bp, patients.bp):
        app.register_blueprint(blueprint)
    media.install(app)

    @app.errorhandler(HTTPException)
    def _error_page(error: HTTPException) -> ResponseReturnValue:
        if is_api_request():
            code = error.code or 500
            headers = {"WWW-Authenticate": "Bearer"} if code == 401 else {}
            name = "unauthorized" if code == 401 else (error.name or "error").lower().replace(" ", "_")
            return jsonify({"error": name}), code, headers
        return render_template("error.html", error=error), error.code or 500

    return app
