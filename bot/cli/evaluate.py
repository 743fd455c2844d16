"""``aftercare eval triage|nlu|e2e``: the figures the README reports come from here."""

from __future__ import annotations

import argparse
import importlib

EVALUATIONS = {
    "triage": "bot.evaluation.triage_eval",
    "nlu": "bot.evaluation.nlu_eval",
    "e2e": "bot.evaluation.e2e_eval",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``eval`` subcommand; remaining arguments go to the evaluation module."""
    parser = subparsers.add_parser("eval", help="run an evaluation (triage, nlu, e2e)")
    parser.add_argument("which", choices=sorted(EVALUATIONS))
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="options for that evaluation")
    parser.set_defaults(func=_evaluate)


def _evaluate(args: argparse.Namespace) -> int:
    module = importlib.import_module(EVALUATIONS[args.which])
    return int(module.main(list(args.rest)) or 0)
