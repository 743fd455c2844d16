"""``aftercare patients enroll|import|list|pause|resume|cancel|consent`` and ``aftercare checkins run``.

Enrolment writes the schedule at once; ``--consent`` records that consent was obtained in
person, with the person at the terminal as the one who recorded it and the current wording
version from ``knowledge/checkins.yml``. Without consent nothing is sent until it is recorded.
Output names enrolments by number and masked address only.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Callable, Optional

from sqlalchemy.orm import Session

from bot.channel_names import patient_channels
from bot.channels.config import enabled_channels
from bot.checkins import enrolment as enrolments
from bot.checkins.addresses import AddressError
from bot.checkins.schedule import local_time
from bot.checkins.service import build_worker, clock_for, content_for
from bot.checkins.worker import NO_RESPONSE, SKIPPED_LATE, SKIPPED_OPTED_OUT, run_forever
from bot.cli.common import cli_actor, database
from bot.knowledge.procedures import Procedures, procedures_for_clinic
from bot.settings import Settings
from bot.storage import audit
from bot.storage.checkins import Enrolment
from bot.storage.db import utcnow
from bot.storage.masking import mask_identity

ENROL_ACTION = "checkins.enrol"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``patients`` and ``checkins`` subcommands."""
    parser = subparsers.add_parser("patients", help="enrol patients for check-ins after a treatment")
    commands = parser.add_subparsers(dest="patients_command", metavar="ACTION", required=True)

    enroll = commands.add_parser("enroll", help="enrol one patient")
    enroll.add_argument("--channel", choices=patient_channels(), required=True)
    enroll.add_argument("--to", required=True, help="the patient's address on that channel")
    enroll.add_argument("--procedure", required=True, help="a procedure id of knowledge/procedures.yml")
    enroll.add_argument("--date", required=True, type=date.fromisoformat, help="treatment date YYYY-MM-DD")
    enroll.add_argument("--consent", action="store_true", help="consent was obtained in person")
    enroll.set_defaults(func=_enroll)

    importing = commands.add_parser("import", help="enrol a day's appointment list (CSV)")
    importing.add_argument("file", type=Path, help="CSV with channel,address,procedure,date[,consent]")
    importing.set_defaults(func=_import)

    listing = commands.add_parser("list", help="list enrolments and their check-ins")
    listing.set_defaults(func=_list)

    for name, change in (("pause", enrolments.pause), ("resume", enrolments.resume), ("cancel", None)):
        command = commands.add_parser(name, help=f"{name} an enrolment's check-ins")
        command.add_argument("enrolment", type=int)
        command.set_defaults(func=_change, change=change, action_name=name)

    consent = commands.add_parser("consent", help="record consent obtained in person for an enrolment")
    consent.add_argument("enrolment", type=int)
    consent.set_defaults(func=_consent)

    checkins = subparsers.add_parser("checkins", help="the check-in worker")
    worker = checkins.add_subparsers(dest="checkins_command", metavar="ACTION", required=True)
    run = worker.add_parser("run", help="send due check-ins (runs until stopped; `make run` starts it)")
    run.add_argument("--once", action="store_true", help="do one round, print it and exit")
    run.set_defaults(func=_run_worker)


def _procedures(settings: Settings) -> Procedures:
    from bot.knowledge import get_clinic_settings

    return procedures_for_clinic(settings.knowledge_dir, get_clinic_settings())


def _enroll(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    procedures = _procedures(settings)
    if procedures.get(args.procedure) is None:
        known = ", ".join(sorted(procedures.ids))
        print(f"error: unknown procedure {args.procedure!r}; known: {known}", file=sys.stderr)
        return 2
    request = enrolments.EnrolmentRequest(args.channel, args.to, args.procedure, args.date)
    version = content_for(settings).consent_version if args.consent else None
    actor = cli_actor()
    now = utcnow()
    try:
        with database(settings) as factory, factory.begin() as session:
            enrolment = enrolments.enrol(
                session=session,
                request=request,
                check_in_days=procedures.check_in_days(args.procedure),
                settings=settings.checkins,
                actor=actor,
                now=now,
                consent_version=version,
            )
            audit.record(
                session=session, actor=actor, action="checkins.enrol", target=str(enrolment.id), at=now
            )
            print(_describe(enrolment, settings))
    except AddressError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not args.consent:
        print(f"no consent recorded yet: nothing is sent until `aftercare patients consent {enrolment.id}`")
    return 0


def _import(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    procedures = _procedures(settings)
    try:
        rows = enrolments.read_csv(args.file.read_text(encoding="utf-8"), procedures.ids)
    except (OSError, enrolments.EnrolmentError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    version = content_for(settings).consent_version
    actor = cli_actor()
    now = utcnow()
    with database(settings) as factory, factory.begin() as session:
        for row in rows:
            enrolment = enrolments.enrol(
                session=session,
                request=row.request,
                check_in_days=procedures.check_in_days(row.request.procedure),
                settings=settings.checkins,
                actor=actor,
                now=now,
                consent_version=version if row.consent else None,
            )
            audit.record(
                session=session, actor=actor, action="checkins.enrol", target=str(enrolment.id), at=now
            )
    print(f"enrolled {len(rows)} patient(s), {sum(r.consent for r in rows)} with consent")
    return 0


def _describe(enrolment: Enrolment, settings: Settings) -> str:
    channel, _, sender = enrolment.conversation_id.partition(":")
    consent = f"consent {enrolment.consent_version}" if enrolment.consented else "no consent"
    lines = [
        f"#{enrolment.id} {mask_identity(channel, sender)} {enrolment.procedure or '-'} "
        f"treated {enrolment.treatment_date.isoformat()} {enrolment.status}, {consent}"
    ]
    for checkin in enrolment.checkins:
        when = local_time(checkin.due_at, settings.checkins.timezone).strftime("%Y-%m-%d %H:%M")
        reason = f" ({checkin.reason})" if checkin.reason else ""
        lines.append(f"  day {checkin.day}: {when} {checkin.status}{reason}")
    return "\n".join(lines)


def _list(args: argparse.Namespace) -> int:
    with database(args.settings) as factory, factory.begin() as session:
        for enrolment in enrolments.list_enrolments(session=session):
            print(_describe(enrolment, args.settings))
    return 0


def _with_enrolment(args: argparse.Namespace, work: Callable[[Session, Enrolment], None], action: str) -> int:
    actor = cli_actor()
    with database(args.settings) as factory, factory.begin() as session:
        enrolment: Optional[Enrolment] = session.get(Enrolment, args.enrolment)
        if enrolment is None:
            print(f"error: no enrolment #{args.enrolment}", file=sys.stderr)
            return 1
        work(session, enrolment)
        audit.record(session=session, actor=actor, action=f"checkins.{action}", target=str(enrolment.id))
        print(_describe(enrolment, args.settings))
    return 0


def _change(args: argparse.Namespace) -> int:
    def work(session: Session, enrolment: Enrolment) -> None:
        if args.change is None:
            enrolments.cancel(session=session, enrolment=enrolment, now=utcnow())
        else:
            args.change(session=session, enrolment=enrolment, now=utcnow())

    return _with_enrolment(args, work, args.action_name)


def _consent(args: argparse.Namespace) -> int:
    version = content_for(args.settings).consent_version

    def work(session: Session, enrolment: Enrolment) -> None:
        enrolments.record_consent(
            session=session, enrolment=enrolment, actor=cli_actor(), version=version, now=utcnow()
        )

    return _with_enrolment(args, work, "consent")


def _run_worker(args: argparse.Namespace) -> int:
    settings: Settings = args.settings
    worker = build_worker(settings, sms="twilio" in enabled_channels(settings))
    clock = clock_for(settings)
    if args.once:
        report = worker.run_once(clock())
        print(
            f"sent {len(report.sent)}, skipped {report.count(SKIPPED_LATE)} as late, "
            f"{report.count(SKIPPED_OPTED_OUT)} opted out, {report.count(NO_RESPONSE)} no-response item(s)"
        )
        return 0
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        run_forever(worker, interval=settings.checkins.poll_seconds, clock=clock)
    return 0
