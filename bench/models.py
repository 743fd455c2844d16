"""Trained models for the benchmark: ours (``aftercare train``) and stock Rasa's.

Stock Rasa is the same domain and training data trained with the configuration Rasa itself
applies to a ``rasa init`` project (the installed package's ``default_config.yml``, read
from disk: nothing is downloaded). Training takes minutes on a busy 2-core machine, so each
archive is kept under ``var/bench/models`` by the fingerprint of its inputs, with the
seconds its training took; a later run reuses both and says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional

import yaml

from bot.training import QUIET_ENV, fingerprint, model_path, rasa_executable

STOCK_INPUTS = ("domain.yml", "data")
STOCK_ASSISTANT_ID = "stock-rasa-init"
TIMINGS_FILE = "training.json"


@dataclass(frozen=True)
class TrainedModel:
    """An archive, how long its training took, and whether this run trained it."""

    path: Path
    training_s: Optional[float]
    trained_now: bool


def stock_config() -> Dict[str, object]:
    """Rasa's own default configuration (what a ``rasa init`` project trains with)."""
    import rasa.engine.recipes

    source = Path(rasa.engine.recipes.__file__).parent / "config_files" / "default_config.yml"
    config = yaml.safe_load(source.read_text(encoding="utf-8"))
    config["assistant_id"] = STOCK_ASSISTANT_ID  # the template's placeholder makes Rasa warn
    return config


def stock_fingerprint(root: Path) -> str:
    """Hash of the stock config and the shared domain and training data."""
    digest = hashlib.sha256(json.dumps(stock_config(), sort_keys=True).encode())
    digest.update(fingerprint(root, STOCK_INPUTS).encode())
    return digest.hexdigest()[:16]


def _timings(models_dir: Path) -> Dict[str, float]:
    try:
        return dict(json.loads((models_dir / TIMINGS_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return {}


def _note_timing(models_dir: Path, name: str, seconds: float) -> None:
    timings = _timings(models_dir)
    timings[name] = round(seconds, 1)
    (models_dir / TIMINGS_FILE).write_text(json.dumps(timings, indent=2), encoding="utf-8")


def _train(command: list, cwd: Path, log: Path) -> float:
    started = time.monotonic()
    with log.open("wb") as out:
        subprocess.run(
            command,
            cwd=cwd,
            check=True,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, **QUIET_ENV, "PYTHONWARNINGS": "ignore"},
        )
    return time.monotonic() - started


def stock_model(root: Path, models_dir: Path) -> TrainedModel:
    """Train (or reuse) stock Rasa's model of our domain and data."""
    models_dir.mkdir(parents=True, exist_ok=True)
    name = f"stock-{stock_fingerprint(root)}"
    target = models_dir / f"{name}.tar.gz"
    if target.exists():
        return TrainedModel(target, _timings(models_dir).get(name), trained_now=False)
    config = models_dir / "stock-config.yml"
    config.write_text(yaml.safe_dump(stock_config(), sort_keys=False), encoding="utf-8")
    command = [
        rasa_executable(),
        "train",
        "--config",
        str(config),
        "--domain",
        "domain.yml",
        "--data",
        "data",
        "--out",
        str(models_dir),
        "--fixed-model-name",
        name,
    ]
    seconds = _train(command, root, models_dir / "stock-train.log")
    _note_timing(models_dir, name, seconds)
    return TrainedModel(target, seconds, trained_now=True)


def our_model(root: Path, models_dir: Path, retrain: bool = False) -> TrainedModel:
    """Our model as ``aftercare train`` makes it (``models/``), timed when this run trains it."""
    models_dir.mkdir(parents=True, exist_ok=True)
    target = model_path(root)
    name = target.name[: -len(".tar.gz")]
    if target.exists() and not retrain:
        return TrainedModel(target, _timings(models_dir).get(name), trained_now=False)
    command = [sys.executable, "-m", "bot.cli", "train"] + (["--force"] if retrain else [])
    seconds = _train(command, root, models_dir / "ours-train.log")
    _note_timing(models_dir, name, seconds)
    return TrainedModel(target, seconds, trained_now=True)
