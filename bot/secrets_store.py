"""Every key that signs or authenticates: from the environment, else generated once under ``var/``.

No key has a literal default anywhere in the code, in any mode: a newcomer's first start
generates random keys into ``var/secrets/`` (folder 0700, files 0600) and reuses them
afterwards; a clinic can pin any of them with its environment variable. Rotating a key
(``rotate``) writes a new random value, which invalidates everything the old one signed.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Mapping, Optional

from bot.settings import MIN_SECRET_LENGTH, SECRET_VARIABLES, Settings


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
    return _generate_once(path)


def _generate_once(path: Path) -> str:
    """Create ``path`` with a new value unless a process starting alongside created it first."""
    value = secrets.token_urlsafe(48)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text(encoding="utf-8").strip()
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(value)
    return value


def rotate_secret(name: str, *, var_dir: Path) -> str:
    """Replace the generated value of ``name`` with a new random one and return it."""
    _check_name(name)
    value = secrets.token_urlsafe(48)
    _write_private(secrets_dir(var_dir) / name, value)
    return value


def secret_names() -> List[str]:
    """Return the names ``load_secret`` knows, sorted."""
    return sorted(SECRET_VARIABLES)


def pinned_by(name: str, env: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """Return the environment variable that pins ``name``, if it is set; rotating must happen there."""
    variable = _check_name(name)
    return variable if (env or {}).get(variable) else None


@dataclass(frozen=True)
class SecretStatus:
    """Where one secret comes from (never its value)."""

    name: str
    variable: str
    source: str  # environment, generated, not yet generated
    changed_at: Optional[datetime]


def describe_secrets(*, var_dir: Path, env: Optional[Mapping[str, str]] = None) -> List[SecretStatus]:
    """Say for every secret whether the environment pins it or a generated file holds it."""
    statuses = []
    for name in secret_names():
        variable = SECRET_VARIABLES[name]
        path = var_dir / "secrets" / name
        changed_at = None
        if (env or {}).get(variable):
            source = "environment"
        elif path.exists():
            source = "generated"
            changed_at = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
        else:
            source = "not yet generated"
        statuses.append(SecretStatus(name, variable, source, changed_at))
    return statuses


def configured_secrets(settings: Settings) -> Dict[str, str]:
    """Return the pinning environment variables that ``settings`` saw (for ``load_secret(env=)``)."""
    return dict(settings.pinned_secrets)
