"""Admin pages: staff accounts, the audit log, alerts that could not be delivered."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from werkzeug.wrappers import Response

from bot.dashboard.db import record, state, transaction
from bot.dashboard.security import admin_required
from bot.storage import audit, login_throttle, outbox, staff
from bot.storage.db import utcnow
from bot.storage.models import AlertOutbox, Flag, StaffUser
from bot.storage.vocabulary import STAFF_ROLES

bp = Blueprint("admin", __name__, url_prefix="/admin")

AUDIT_PAGE_SIZE = 100


@bp.route("/staff")
@admin_required
def staff_list() -> str:
    """List staff accounts, with a form to add one."""
    with transaction() as db:
        accounts = staff.list_staff(session=db)
    return render_template("admin/staff.html", accounts=accounts, roles=STAFF_ROLES, form={}, now=utcnow())


@bp.route("/staff", methods=["POST"])
@admin_required
def staff_add() -> ResponseReturnValue:
    """Create an account with a role and an initial password."""
    form = {"username": request.form.get("username", ""), "role": request.form.get("role", "")}
    password = request.form.get("password", "")
    if password != request.form.get("password_again", ""):
        flash("passwords_differ", "error")
    else:
        try:
            with transaction() as db:
                user = staff.create_staff(
                    session=db, username=form["username"], password=password, role=form["role"]
                )
                record(db, "staff.add", target=f"staff:{user.username}", detail=f"role={user.role}")
        except staff.StaffError as error:
            flash(f"staff_errors.{error.code}", "error")
        else:
            flash("staff_added", "info")
            return redirect(url_for("admin.staff_list"))
    with transaction() as db:
        accounts = staff.list_staff(session=db)
    return render_template(
        "admin/staff.html", accounts=accounts, roles=STAFF_ROLES, form=form, now=utcnow()
    ), 400


def _set_active(user_id: int, active: bool) -> Response:
    try:
        with transaction() as db:
            user = db.get(StaffUser, user_id) or abort(404)
            staff.set_active(session=db, user=user, active=active)
            record(db, "staff.enable" if active else "staff.disable", target=f"staff:{user.username}")
    except staff.StaffError as error:
        flash(f"staff_errors.{error.code}", "error")
    else:
        flash("staff_enabled" if active else "staff_disabled", "info")
    return redirect(url_for("admin.staff_list"))


@bp.route("/staff/<int:user_id>/disable", methods=["POST"])
@admin_required
def staff_disable(user_id: int) -> Response:
    """Disable an account (its sessions end at their next request)."""
    return _set_active(user_id, False)


@bp.route("/staff/<int:user_id>/enable", methods=["POST"])
@admin_required
def staff_enable(user_id: int) -> Response:
    """Enable an account again, clearing any lockout."""
    return _set_active(user_id, True)


@bp.route("/audit")
@admin_required
def audit_log() -> str:
    """Show the audit log, newest first, filterable by person and action."""
    actor = request.args.get("actor", "").strip()[:64] or None
    action = request.args.get("action", "").strip()[:64] or None
    page_arg = request.args.get("page", "1")
    page = max(int(page_arg), 1) if page_arg.isdigit() else 1
    with transaction() as db:
        total = audit.count_entries(session=db, actor=actor, action=action)
        entries = audit.entries(
            session=db, actor=actor, action=action, limit=AUDIT_PAGE_SIZE, offset=(page - 1) * AUDIT_PAGE_SIZE
        )
    pages = max((total + AUDIT_PAGE_SIZE - 1) // AUDIT_PAGE_SIZE, 1)
    return render_template(
        "admin/audit.html",
        entries=entries,
        actor=actor or "",
        action=action or "",
        page=page,
        pages=pages,
        total=total,
    )


@bp.route("/alerts")
@admin_required
def alerts() -> str:
    """List alerts that failed or are waiting to retry, and which channels are configured."""
    with transaction() as db:
        problems = outbox.problem_alerts(session=db)
        flags = {alert.flag_id: db.get(Flag, alert.flag_id) for alert in problems}
    return render_template("admin/alerts.html", problems=problems, flags=flags, alert_config=state().alerts)


@bp.route("/alerts/<int:alert_id>/retry", methods=["POST"])
@admin_required
def alert_retry(alert_id: int) -> Response:
    """Send a failed alert again at the worker's next round."""
    with transaction() as db:
        if db.get(AlertOutbox, alert_id) is None:
            abort(404)
        requeued = outbox.retry_now(session=db, alert_id=alert_id)
        if requeued is not None:
            record(db, "alert.retry", target=f"alert:{alert_id}", detail=f"flag={requeued.flag_id}")
    flash("alert_requeued" if requeued is not None else "alert_not_requeued", "info")
    return redirect(url_for("admin.alerts"))


@bp.route("/security-alerts/<int:alert_id>/dismiss", methods=["POST"])
@admin_required
def security_alert_dismiss(alert_id: int) -> Response:
    """Mark a security alert (e.g. repeated failed logins) as seen; the audit log keeps the details."""
    with transaction() as db:
        dismissed = login_throttle.dismiss_alert(
            session=db, alert_id=alert_id, by=g.user.username, now=utcnow()
        )
        if dismissed is None:
            abort(404)
        record(db, "security_alert.dismiss", target=f"staff:{dismissed.subject}", detail=dismissed.kind)
    flash("security_alert_dismissed", "info")
    return redirect(url_for("admin.alerts"))
