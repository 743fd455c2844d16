"""``aftercare secrets list|rotate NAME``: the keys that sign or authenticate, never their values.

Keys come from the environment when set there, else from files generated once under
``var/secrets/`` (0600). Rotating writes a new random value: whatever the old one
signed stops working (dashboard sessions at once, the others when their server restarts).
"""

from __future__ import annotations

import argparse
import sys

from bot.cli.common import cli_actor, command, command_group, database
from bot.secrets_store import configured_secrets, describe_secrets, pinned_by, rotate_secret, secret_names
from bot.storage import audit

# Who reads each key, and when a rotation takes effect there.
TAKES_EFFECT = {
    "dashboard_session_key": "at once: every dashboard session ends",
    "widget_session_secret": "when Rasa restarts: open widget sessions start afresh",
    "action_server_secret": "when Rasa and the action server restart",
    "rasa_auth_token": "when Rasa restarts: tools need the new token",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``secrets`` subcommands."""
    commands = command_group(subparsers, "secrets", "list or rotate signing keys and tokens")
    command(commands, "list", "show where each key comes from (never its value)", _list)
    rotate = command(commands, "rotate", "replace a generated key with a new random one", _rotate)
    rotate.add_argument("name", choices=secret_names())


def _list(args: argparse.Namespace) -> int:
    settings = args.settings
    print(f"{'NAME':<24} {'VARIABLE':<26} {'SOURCE':<18} GENERATED (UTC)")
    for status in describe_secrets(var_dir=settings.var_dir, env=configured_secrets(settings)):
        when = status.changed_at.strftime("%Y-%m-%d %H:%M") if status.changed_at else ""
        print(f"{status.name:<24} {status.variable:<26} {status.source:<18} {when}")
    print(f"generated keys live in {settings.var_dir / 'secrets'}")
    return 0


def _rotate(args: argparse.Namespace) -> int:
    settings = args.settings
    variable = pinned_by(args.name, configured_secrets(settings))
    if variable is not None:
        print(
            f"error: {args.name} comes from the environment variable {variable}; "
            "set a new value there (and restart), or unset it to use a generated key",
            file=sys.stderr,
        )
        return 1
    rotate_secret(args.name, var_dir=settings.var_dir)
    with database(settings) as factory, factory.begin() as session:
        audit.record(session=session, actor=cli_actor(), action="secret.rotate", target=f"secret:{args.name}")
    print(f"rotated {args.name}; takes effect {TAKES_EFFECT[args.name]}")
    return 0
