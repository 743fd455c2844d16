"""Train-skip logic: the archive name carries a fingerprint of every training input."""

import shutil
from pathlib import Path

import pytest

from bot import training


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "data" / "nlu").mkdir(parents=True)
    (tmp_path / "config.yml").write_text("pipeline: []\n")
    (tmp_path / "domain.yml").write_text("intents: [greet]\n")
    (tmp_path / "data" / "nlu" / "a.yml").write_text("nlu: []\n")
    return tmp_path


def test_fingerprint_is_stable(project: Path) -> None:
    assert training.fingerprint(project) == training.fingerprint(project)


@pytest.mark.parametrize("changed", ["config.yml", "domain.yml", "data/nlu/a.yml"])
def test_fingerprint_changes_with_any_input(project: Path, changed: str) -> None:
    before = training.fingerprint(project)
    (project / changed).write_text((project / changed).read_text() + "# edited\n")
    assert training.fingerprint(project) != before


def test_new_data_file_changes_fingerprint(project: Path) -> None:
    before = training.fingerprint(project)
    (project / "data" / "rules.yml").write_text("rules: []\n")
    assert training.fingerprint(project) != before


def test_unrelated_file_does_not_change_fingerprint(project: Path) -> None:
    before = training.fingerprint(project)
    (project / "README.md").write_text("hello\n")
    assert training.fingerprint(project) == before


def test_existing_archive_is_not_retrained(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = training.model_path(project)
    target.parent.mkdir(parents=True)
    target.write_bytes(b"archive")

    def fail(*args, **kwargs):
        raise AssertionError("training must not run when the model is up to date")

    monkeypatch.setattr(training.subprocess, "run", fail)
    status = training.ensure_model(project)
    assert status == training.ModelStatus(target, trained=False)


def test_missing_archive_trains_with_fixed_name(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def fake_rasa(command, cwd, check, env=None):
        calls.append(command)
        if "train" in command:
            out = Path(command[command.index("--out") + 1])
            name = command[command.index("--fixed-model-name") + 1]
            (out / f"{name}.tar.gz").write_bytes(b"model")

    monkeypatch.setattr(training.subprocess, "run", fake_rasa)
    status = training.ensure_model(project)
    assert status.trained and status.path == training.model_path(project)
    assert calls[0][1:] == ["data", "validate", "--fail-on-warnings"]


def test_rasa_that_writes_nothing_is_an_error(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(training.subprocess, "run", lambda *a, **k: None)
    with pytest.raises(RuntimeError):
        training.ensure_model(project, validate=False)


def test_real_project_inputs_are_fingerprinted(project_root: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    for name in training.TRAINING_INPUTS:
        source = project_root / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            copy.mkdir(exist_ok=True)
            shutil.copy(source, copy / name)
    assert training.fingerprint(copy) == training.fingerprint(project_root)


def test_training_removes_archives_of_older_inputs(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    models = project / "models"
    models.mkdir()
    stale = models / "aftercare-0000000000000000.tar.gz"
    stale.write_bytes(b"old")
    other = models / "someone-else.tar.gz"
    other.write_bytes(b"keep")

    def fake_rasa(command, cwd, check, env=None):
        if "train" in command:
            name = command[command.index("--fixed-model-name") + 1]
            (models / f"{name}.tar.gz").write_bytes(b"model")

    monkeypatch.setattr(training.subprocess, "run", fake_rasa)
    status = training.ensure_model(project)
    assert status.path.exists() and not stale.exists() and other.exists()
