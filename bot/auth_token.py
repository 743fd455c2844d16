"""The token that protects Rasa's HTTP API: from ``RASA_AUTH_TOKEN``, else from ``.env``, else new.

A newcomer's first ``make run`` must be protected without any set-up, so a strong token
is generated once into the git-ignored ``.env`` (mode 600) and reused afterwards.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

TOKEN_VARIABLE = "RASA_AUTH_TOKEN"


@dataclass(frozen=True)
class AuthToken:
    """The token and where it came from (``environment``, ``dotenv`` or ``generated``)."""

    value: str
    origin: str


def read_dotenv(path: Path) -> Dict[str, str]:
    """Parse ``KEY=VALUE`` lines (comments and blanks ignored; quotes stripped)."""
    values: Dict[str, str] = {}
    if not path.exists():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def resolve_token(configured: Optional[str], dotenv_path: Path) -> AuthToken:
    """Return the configured token, or the one saved in ``.env``, or a new one saved there."""
    if configured:
        return AuthToken(configured, "environment")
    saved = read_dotenv(dotenv_path).get(TOKEN_VARIABLE)
    if saved:
        return AuthToken(saved, "dotenv")
    token = secrets.token_urlsafe(32)
    existing = dotenv_path.read_text(encoding="utf-8") if dotenv_path.exists() else ""
    if existing and not existing.endswith("\n"):
        existing += "\n"
    # Created 0600 from the start: the token is never readable by others, even for a moment.
    descriptor = os.open(dotenv_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(f"{existing}{TOKEN_VARIABLE}={token}\n")
    os.chmod(dotenv_path, 0o600)
    return AuthToken(token, "generated")
