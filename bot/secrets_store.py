"""Every key that signs or authenticates: from the environment, else generated once under ``var/``.

No key has a literal default anywhere in the code, in any mode: a newcomer's first start
generates random keys into ``var/secrets/`` (folder 0700, files 0600) and reuses them
afterwards; a clinic can pin any of them with its environment variable. Rotating a key
(``rotate``) writes a new random value, which invalidates everything the old one signed.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Dict, Mapping, Optional

MIN_SECRET_LENGTH = 32

# Secret name -> environment variable that may pin it.
SECRET_VARIABLES: Dict[str, str] = {
    "dashboard_session_key": "AFTERCARE_SECRET_KEY",
    "widget_session_secret": "AFTERCARE_WIDGET_SECRET",
    "action_server_secret": "AFTERCARE_ACTION_SECRET",
    "rasa_auth_token": "RASA_AUTH_TOKEN",
}


class SecretError(ValueError):
    """A configured secret is unusable (unknown name or too short)."""


def secrets_dir(var_dir: Path) -> Path:
    """Return the folder that holds generated secrets (created 0700)."""
    folder = var_dir / "secrets"
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(var_dir, 0o700)
    os.chmod(folder, 0o700)
    return folder


def _write_private(path: Path, value: str) -> None:
    """Write ``value`` so that it is never readable by other users, even for a moment."""
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value)
    os.replace(temporary, path)


def _check_name(name: str) -> str:
    if name not in SECRET_VARIABLES:
        raise SecretError(f"unknown secret {name!r}; known: {', '.join(sorted(SECRET_VARIABLES))}")
    return SECRET_VARIABLES[name]


def load_secret(name: str, *, var_dir: Path, env: Optional[Mapping[str, str]] = None) -> str:
    """Return secret ``name``: its environment variable if set, else the generated value.

    The value is generated (and stored 0600) on first use, so two installs never share a key.
    """
    variable = _check_name(name)
    configured = (env or {}).get(variable)
    if configured:
        if len(configured) < MIN_SECRET_LENGTH:
            raise SecretError(f"{variable} needs at least {MIN_SECRET_LENGTH} characters")
        return configured
    path = secrets_dir(var_dir) / name
    if path.exists():
        value = path.read_text(encoding="utf-8").strip()
        if len(value) >= MIN_SECRET_LENGTH:
            return value
    return rotate_secret(name, var_dir=var_dir)


def rotate_secret(name: str, *, var_dir: Path) -> str:
    """Replace the generated value of ``name`` with a new random one and return it."""
    _check_name(name)
    value = secrets.token_urlsafe(48)
    _write_private(secrets_dir(var_dir) / name, value)
    return value
