"""``aftercare train``: train the model if its inputs changed."""

from __future__ import annotations

import argparse
import subprocess

from bot.training import ensure_model


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``train`` subcommand."""
    parser = subparsers.add_parser("train", help="train the Rasa model if training data or config changed")
    parser.add_argument("--force", action="store_true", help="train even if the model is up to date")
    parser.add_argument("--no-validate", action="store_true", help="skip `rasa data validate`")
    parser.set_defaults(func=_train)


def _train(args: argparse.Namespace) -> int:
    root = args.settings.project_root
    try:
        status = ensure_model(root, force=args.force, validate=not args.no_validate)
    except subprocess.CalledProcessError as error:
        print(f"aftercare: training failed ({error.cmd[1:3]} exited {error.returncode})")
        return 1
    print(f"trained {status.path}" if status.trained else f"model up to date: {status.path}")
    return 0
