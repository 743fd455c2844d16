"""``aftercare staff add|list|disable|enable|set-password|token``: dashboard accounts from the terminal.

``aftercare staff token NAME`` creates an API token for the staff JSON API and prints it as
the last line (shown once, stored hashed); ``--revoke [HINT]`` revokes them (or the one
starting with HINT); ``--list`` shows their hints.

Passwords are never taken from the command line (they would end up in shell history and
``ps``): they are prompted twice, or read from standard input with ``--password-stdin``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from dataclasses import dataclass
from typing import Callable, Optional

from sqlalchemy.orm import Session

from bot.cli.common import cli_actor, database
from bot.storage import api_tokens, audit, staff
from bot.storage.models import StaffUser
from bot.storage.vocabulary import STAFF_ROLES


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``staff`` subcommands."""
    parser = subparsers.add_parser("staff", help="manage dashboard accounts")
    commands = parser.add_subparsers(dest="staff_command", metavar="ACTION", required=True)

    add = commands.add_parser("add", help="create an account")
    add.add_argument("username")
    add.add_argument("--role", choices=STAFF_ROLES, required=True)
    add.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    add.set_defaults(func=_add)

    listing = commands.add_parser("list", help="list accounts")
    listing.set_defaults(func=_list)

    for name, active in (("disable", False), ("enable", True)):
        command = commands.add_parser(name, help=f"{name} an account")
        command.add_argument("username")
        command.set_defaults(func=_set_active, active=active)

    password = commands.add_parser("set-password", help="set a new password (also clears a lockout)")
    password.add_argument("username")
    password.add_argument(
        "--password-stdin", action="store_true", help="read the password from standard input"
    )
    password.set_defaults(func=_set_password)

    token = commands.add_parser("token", help="create an API token (printed last, once), or revoke them")
    token.add_argument("username")
    token.add_argument(
        "--revoke",
        nargs="?",
        const="",
        metavar="HINT",
        help="revoke all tokens, or the one starting with HINT",
    )
    token.add_argument("--list", action="store_true", help="list the tokens' hints and when they were used")
    token.set_defaults(func=_token)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Password again: ") != first:
        raise staff.StaffError("passwords_differ", "the two passwords are not the same")
    return first


@dataclass(frozen=True)
class _Change:
    """What one account command did: the audit action, detail, and the line printed after it."""

    user: StaffUser
    action: str
    done: str
    detail: Optional[str] = None


def _change_account(
    args: argparse.Namespace, change: Callable[[Session, str], _Change], *, asks_password: bool = False
) -> int:
    """Run ``change`` and its audit entry in one transaction; print the outcome or the refusal.

    A password is asked for before the transaction starts, so no lock waits on someone typing.
    """
    try:
        password = _read_password(args.password_stdin) if asks_password else ""
        with database(args.settings) as factory, factory.begin() as session:
            result = change(session, password)
            audit.record(
                session=session,
                actor=cli_actor(),
                action=result.action,
                target=f"staff:{result.user.username}",
                detail=result.detail,
            )
    except staff.StaffError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(result.done)
    return 0


def _add(args: argparse.Namespace) -> int:
    def add(session: Session, password: str) -> _Change:
        user = staff.create_staff(session=session, username=args.username, password=password, role=args.role)
        return _Change(user, "staff.add", f"created {user.username} ({user.role})", f"role={user.role}")

    return _change_account(args, add, asks_password=True)


def _list(args: argparse.Namespace) -> int:
    with database(args.settings) as factory, factory.begin() as session:
        accounts = staff.list_staff(session=session)
    print(f"{'USERNAME':<24} {'ROLE':<9} {'STATUS':<9} LAST LOGIN (UTC)")
    for user in accounts:
        status = "active" if user.active else "disabled"
        last = user.last_login_at.strftime("%Y-%m-%d %H:%M") if user.last_login_at else "never"
        print(f"{user.username:<24} {user.role:<9} {status:<9} {last}")
    return 0


def _find(session: Session, username: str) -> StaffUser:
    user = staff.get_staff(session=session, username=username)
    if user is None:
        raise staff.StaffError("unknown_username", f"no account named {username!r}")
    return user


def _set_active(args: argparse.Namespace) -> int:
    def set_active(session: Session, _password: str) -> _Change:
        user = _find(session, args.username)
        staff.set_active(session=session, user=user, active=args.active)
        verb = "enabled" if args.active else "disabled"
        return _Change(user, "staff.enable" if args.active else "staff.disable", f"{verb} {user.username}")

    return _change_account(args, set_active)


def _set_password(args: argparse.Namespace) -> int:
    def set_password(session: Session, password: str) -> _Change:
        user = _find(session, args.username)
        staff.set_password(session=session, user=user, password=password)
        return _Change(user, "staff.set_password", f"new password set for {user.username}")

    return _change_account(args, set_password, asks_password=True)


def _token(args: argparse.Namespace) -> int:
    if args.list:
        return _list_tokens(args)
    created: list = []

    def change(session: Session, _password: str) -> _Change:
        user = _find(session, args.username)
        if args.revoke is not None:
            count = api_tokens.revoke_tokens(session=session, staff=user, hint=args.revoke or None)
            return _Change(user, "api_token.revoke", f"revoked {count} API token(s) of {user.username}")
        row, token = api_tokens.create_token(session=session, staff=user)
        created.append(token)
        done = f"API token for {user.username} ({user.role}); it is shown only this once:"
        return _Change(user, "api_token.create", done, f"hint={row.hint}")

    status = _change_account(args, change)
    if status == 0 and created:
        print(created[0])  # the contract: the token is the last line of standard output
    return status


def _list_tokens(args: argparse.Namespace) -> int:
    try:
        with database(args.settings) as factory, factory.begin() as session:
            rows = api_tokens.tokens_of(session=session, staff=_find(session, args.username))
    except staff.StaffError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{'HINT':<12} {'CREATED (UTC)':<17} {'LAST USED':<17} STATUS")
    for row in rows:
        used = row.last_used_at.strftime("%Y-%m-%d %H:%M") if row.last_used_at else "never"
        status = "revoked" if row.revoked_at else "live"
        print(f"{row.hint:<12} {row.created_at.strftime('%Y-%m-%d %H:%M'):<17} {used:<17} {status}")
    return 0
