"""Logging in and out."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, request, session, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from bot.dashboard.db import record, state, transaction
from bot.dashboard.security import safe_next, start_session
from bot.storage import staff

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Show the login form; on POST check the password, counting failures toward a lockout."""
    if request.method == "GET" and g.user is not None:
        return redirect(url_for("queue.index"))
    if request.method == "POST":
        username = request.form.get("username", "")
        with transaction() as db:
            result = staff.authenticate(
                session=db,
                username=username,
                password=request.form.get("password", ""),
                policy=state().config.lockout,
            )
            if result.ok and result.user is not None:
                g.user = result.user
                record(db, "login.success")
                user = result.user
            else:
                record(
                    db,
                    "login.failure",
                    detail=result.reason,
                    actor=staff.normalise_username(username)[:64] or "anonymous",
                )
                user = None
        if user is not None:
            start_session(user)
            return redirect(safe_next(request.args.get("next")) or url_for("queue.index"))
        flash("login_failed", "error")
        return render_template("login.html", username=username), 401
    return render_template("login.html", username="")


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """End the session."""
    with transaction() as db:
        record(db, "logout")
    session.clear()
    flash("logged_out", "info")
    return redirect(url_for("auth.login"))
