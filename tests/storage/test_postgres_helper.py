"""The PostgreSQL test helper skips locally but fails in CI when no server can be started."""

from __future__ import annotations

import pytest

from tests import postgres


@pytest.fixture
def no_binaries(monkeypatch):
    monkeypatch.setattr(postgres, "find_bin_dir", lambda: None)


def test_missing_binaries_skip_locally(no_binaries, monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y postgresql"):
        postgres.require_postgres()


def test_missing_binaries_fail_in_ci(no_binaries, monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must run in CI"):
        postgres.require_postgres()
