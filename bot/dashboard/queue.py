"""The review queue and the CSV export."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for

from bot.dashboard.db import record, state, transaction
from bot.dashboard.export import flags_csv
from bot.dashboard.filters import STATUS_CHOICES, BadDateError, QueueForm, day_range, parse_day
from bot.storage import queue
from bot.storage.db import utcnow
from bot.storage.vocabulary import FLAG_LEVELS

bp = Blueprint("queue", __name__)


@bp.route("/")
def index() -> str:
    """List flags, emergencies first, with filters and counts per level."""
    config = state().config
    form = QueueForm.from_args(request.args)
    flt = form.to_filter(config.zone)
    for code in form.errors:
        flash(code, "error")
    with transaction() as db:
        total = queue.count_flags(session=db, flt=flt)
        flags = queue.list_flags(
            session=db, flt=flt, limit=config.page_size, offset=(form.page - 1) * config.page_size
        )
        counts = queue.counts_by_level(session=db, flt=flt)
        channels = queue.known_channels(session=db)
    pages = max((total + config.page_size - 1) // config.page_size, 1)
    return render_template(
        "queue.html",
        flags=flags,
        counts=counts,
        total=total,
        form=form,
        pages=pages,
        channels=channels,
        levels=FLAG_LEVELS,
        status_choices=list(STATUS_CHOICES),
    )


@bp.route("/export.csv")
def export() -> Response:
    """Download every flag created in a date range (clinic days, both inclusive) as CSV."""
    zone = state().config.zone
    today = utcnow().astimezone(zone).date()
    try:
        start = parse_day(request.args.get("from")) or today - timedelta(days=30)
        end = parse_day(request.args.get("to")) or today
        created_from, created_to = day_range(start, end, zone)
    except BadDateError as error:
        flash(error.code, "error")
        return redirect(url_for("queue.index"))  # type: ignore[return-value]
    assert created_from is not None and created_to is not None
    base_url = state().alerts.dashboard_url
    with transaction() as db:
        flags = queue.flags_for_export(session=db, created_from=created_from, created_to=created_to)
        body = flags_csv(flags, lambda flag: f"{base_url}{url_for('flags.show', flag_id=flag.id)}")
        record(db, "flags.export", detail=f"from={start.isoformat()} to={end.isoformat()} rows={len(flags)}")
    filename = f"aftercare-flags-{start.isoformat()}-to-{end.isoformat()}.csv"
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
