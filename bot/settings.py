"""Runtime settings, read once from the environment.

This module is the only reader of ``os.environ`` in the project, so every
configurable value has one obvious home and one documented variable name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    value = env.get(name)
    return Path(value) if value else default


@dataclass(frozen=True)
class Settings:
    """Everything the assistant needs to know about its surroundings."""

    project_root: Path = PROJECT_ROOT
    var_dir: Path = PROJECT_ROOT / "var"
    database_url: str = ""
    knowledge_dir: Path = PROJECT_ROOT / "knowledge"
    clinic_file: Path = PROJECT_ROOT / "knowledge" / "clinic.yml"
    rasa_auth_token: Optional[str] = None
    rasa_port: int = 5005
    action_port: int = 5055
    dashboard_port: int = 5056
    environment: str = "development"
    # Only what the environment pins; otherwise ``bot.secrets_store`` generates one under var/.
    secret_key: Optional[str] = None
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Optional[Mapping[str, str]] = None) -> Settings:
        """Build settings from ``env`` (defaults to ``os.environ``)."""
        env = dict(os.environ if env is None else env)
        var_dir = _path(env, "AFTERCARE_VAR_DIR", PROJECT_ROOT / "var")
        database_url = env.get("AFTERCARE_DATABASE_URL") or f"sqlite:///{var_dir / 'aftercare.db'}"
        knowledge_dir = _path(env, "AFTERCARE_KNOWLEDGE_DIR", PROJECT_ROOT / "knowledge")
        return cls(
            project_root=PROJECT_ROOT,
            var_dir=var_dir,
            database_url=database_url,
            knowledge_dir=knowledge_dir,
            clinic_file=_path(env, "AFTERCARE_CLINIC_FILE", knowledge_dir / "clinic.yml"),
            rasa_auth_token=env.get("RASA_AUTH_TOKEN") or None,
            rasa_port=int(env.get("RASA_PORT", "5005")),
            action_port=int(env.get("ACTION_PORT", "5055")),
            dashboard_port=int(env.get("DASHBOARD_PORT", "5056")),
            environment=env.get("AFTERCARE_ENV", "development"),
            secret_key=env.get("AFTERCARE_SECRET_KEY") or None,
            extra={k: v for k, v in env.items() if k.startswith("AFTERCARE_")},
        )
