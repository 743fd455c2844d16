"""Train the Rasa model only when its inputs changed.

The archive's name carries a fingerprint of everything training reads (config,
domain, training data and our custom graph components), so "is the model up to date?"
is just "does ``models/aftercare-<fingerprint>.tar.gz`` exist?": no state file to drift.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional

MODEL_PREFIX = "aftercare-"
# Rasa would otherwise try to reach its telemetry and error-reporting services on every run.
QUIET_ENV = {"RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}
TRAINING_INPUTS = ("config.yml", "domain.yml", "data", "bot/rasa_components")


@dataclass(frozen=True)
class ModelStatus:
    """Where the model for the current inputs is, and whether it had to be trained."""

    path: Path
    trained: bool


def _input_files(root: Path, inputs: Iterable[str]) -> List[Path]:
    files: List[Path] = []
    for name in inputs:
        path = root / name
        if path.is_dir():
            files += sorted(
                p for p in path.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml", ".py")
            )
        elif path.is_file():
            files.append(path)
    return files


def fingerprint(root: Path, inputs: Iterable[str] = TRAINING_INPUTS) -> str:
    """Hash the names and contents of every training input below ``root``."""
    digest = hashlib.sha256()
    for path in _input_files(root, inputs):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def model_path(root: Path, models_dir: Optional[Path] = None) -> Path:
    """Return the archive path the current inputs train into."""
    models_dir = models_dir or root / "models"
    return models_dir / f"{MODEL_PREFIX}{fingerprint(root)}.tar.gz"


def _quiet_env() -> dict:
    return {**os.environ, **QUIET_ENV}


def rasa_executable() -> str:
    """Return the ``rasa`` script installed next to this interpreter."""
    candidate = Path(sys.executable).parent / "rasa"
    return str(candidate) if candidate.exists() else "rasa"


def ensure_model(
    root: Path, models_dir: Optional[Path] = None, force: bool = False, validate: bool = True
) -> ModelStatus:
    """Train into ``models_dir`` unless an archive for the current inputs already exists."""
    target = model_path(root, models_dir)
    if target.exists() and not force:
        return ModelStatus(target, trained=False)
    target.parent.mkdir(parents=True, exist_ok=True)
    rasa = rasa_executable()
    if validate:
        subprocess.run(
            [rasa, "data", "validate", "--fail-on-warnings"], cwd=root, check=True, env=_quiet_env()
        )
    subprocess.run(
        [
            rasa,
            "train",
            "--config",
            "config.yml",
            "--domain",
            "domain.yml",
            "--data",
            "data",
            "--out",
            str(target.parent),
            "--fixed-model-name",
            target.name[: -len(".tar.gz")],
        ],
        cwd=root,
        check=True,
        env=_quiet_env(),
    )
    if not target.exists():
        raise RuntimeError(f"rasa train finished but {target} was not written")
    for stale in target.parent.glob(f"{MODEL_PREFIX}*.tar.gz"):
        if stale != target:
            stale.unlink()
    return ModelStatus(target, trained=True)
