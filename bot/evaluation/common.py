"""What every evaluation shares: its command line shape and how a figure is computed."""

from __future__ import annotations

import argparse
from typing import Callable


def share(part: int, whole: int, *, when_empty: float = 1.0) -> float:
    """Return ``part / whole``, or ``when_empty`` for an empty set (nothing to miss scores 1.0)."""
    return part / whole if whole else when_empty


def evaluation_parser(
    prog: str, description: str, add_arguments: Callable[[argparse.ArgumentParser], None]
) -> argparse.ArgumentParser:
    """Describe an evaluation's command line from its shared ``add_arguments``."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    add_arguments(parser)
    return parser
