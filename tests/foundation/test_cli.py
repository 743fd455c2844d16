"""The `aftercare` command as users call it."""

import subprocess
import sys

import pytest

from bot.cli import build_parser, main


def _aftercare(*args, **kwargs):
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args], capture_output=True, text=True, timeout=600, **kwargs
    )


def test_help_lists_the_subcommands():
    help_text = build_parser().format_help()
    for command in ("run", "train", "eval"):
        assert command in help_text


def test_no_subcommand_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: aftercare" in capsys.readouterr().out


def test_unknown_evaluation_is_a_clear_error():
    result = _aftercare("eval", "nonsense")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr


@pytest.mark.slow
def test_second_train_does_not_retrain(trained_model):
    before = trained_model.stat().st_mtime_ns
    result = _aftercare("train")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "model up to date" in result.stdout
    assert trained_model.stat().st_mtime_ns == before
