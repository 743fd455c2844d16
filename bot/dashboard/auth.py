"""Logging in and out."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from bot.dashboard.db import client_ip, record, state, transaction
from bot.dashboard.security import safe_next, start_session
from bot.storage import staff, staff_sessions
from bot.storage.db import utcnow

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the login form; on POST check the password, throttled per (user name, address)."""
    if request.method == "GET" and g.user is not None:
        return redirect(url_for("queue.index"))
    if request.method == "POST":
        username = request.form.get("username", "")
        name = staff.normalise_username(username)[:64] or "anonymous"
        config = state().config
        token = None
        with transaction() as db:
            now = utcnow()
            result = staff.authenticate(
                session=db,
                username=username,
                password=request.form.get("password", ""),
                address=client_ip(),
                policy=config.throttle,
                now=now,
            )
            if result.ok and result.user is not None:
                g.user = result.user
                record(db, "login.success")
                token = staff_sessions.start(
                    session=db, user_id=result.user.id, lifetime=config.session_lifetime, now=now
                )
                user = result.user
            else:
                record(db, "login.failure", detail=result.reason, actor=name)
                if result.alert_raised:
                    record(db, "login.alert", target=f"staff:{name}", actor=name)
                user = None
        if user is not None and token is not None:
            start_session(user, token)
            return redirect(safe_next(request.args.get("next")) or url_for("queue.index"))
        flash("login_failed", "error")
        return render_template("login.html", username=username), 401
    return render_template("login.html", username="")


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """End the session here and on the server, so a copy of the old cookie is worthless."""
    with transaction() as db:
        staff_sessions.end(session=db, token=session.get("sid"), reason="logout", now=utcnow())
        record(db, "logout")
    session.clear()
    flash("logged_out", "info")
    return redirect(url_for("auth.login"))
