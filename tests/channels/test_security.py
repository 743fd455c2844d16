"""Signature checks, shared-secret comparison, widget session tokens and the widget secret."""

from __future__ import annotations

import os
import stat

import pytest

from bot.channels.security import (
    ChannelConfigError,
    SessionSigner,
    meta_signature,
    meta_signature_valid,
    secret_matches,
    widget_secret,
)
from bot.settings import Settings

BODY = b'{"object":"whatsapp_business_account","entry":[]}'


def test_meta_signature_accepts_the_genuine_header():
    assert meta_signature_valid(BODY, meta_signature(BODY, "app-secret"), "app-secret")


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha256=",
        meta_signature(BODY, "another-secret"),
        meta_signature(BODY + b" ", "app-secret"),
        meta_signature(BODY, "app-secret").replace("sha256=", "sha1="),
        meta_signature(BODY, "app-secret")[:-1],
    ],
)
def test_meta_signature_refuses_anything_else(header):
    assert not meta_signature_valid(BODY, header, "app-secret")


def test_meta_signature_refuses_when_no_secret_is_configured():
    assert not meta_signature_valid(BODY, meta_signature(BODY, ""), "")


@pytest.mark.parametrize(
    ("given", "ok"), [("s3cret-token", True), ("s3cret-tokeN", False), ("", False), (None, False)]
)
def test_secret_matches(given, ok):
    assert secret_matches(given, "s3cret-token") is ok


def test_secret_matches_never_accepts_an_empty_configuration():
    assert not secret_matches("", "")


SIGNER = SessionSigner(b"x" * 32, max_age_seconds=3600)


def test_issued_token_verifies_to_its_session_id():
    token = SIGNER.issue(now=1000)
    session_id = SIGNER.verify(token, now=1001)
    assert session_id and session_id == token.split(".")[1]


def test_each_session_is_new():
    assert SIGNER.issue() != SIGNER.issue()


def _forgeries(token: str) -> list:
    version, session_id, issued, mac = token.split(".")
    other = "A" * len(session_id)
    return [
        f"{version}.{other}.{issued}.{mac}",  # someone else's conversation
        f"{version}.{session_id}.{int(issued) + 1}.{mac}",  # extended lifetime
        f"{version}.{session_id}.{issued}.{mac[:-2]}xx",  # tampered signature
        f"v2.{session_id}.{issued}.{mac}",
        f"{version}.{session_id}.{issued}",
        session_id,
        "",
        token + ".extra",
        SessionSigner(b"y" * 32).issue(now=int(issued)),  # signed with another secret
    ]


def test_forged_tokens_are_refused():
    token = SIGNER.issue(now=1000)
    for forged in _forgeries(token):
        assert SIGNER.verify(forged, now=1001) is None, forged


def test_expired_and_future_tokens_are_refused():
    token = SIGNER.issue(now=1000)
    assert SIGNER.verify(token, now=1000 + 3600) is not None
    assert SIGNER.verify(token, now=1000 + 3601) is None
    assert SIGNER.verify(SIGNER.issue(now=5000), now=1000) is None


def _settings(tmp_path, environment="development") -> Settings:
    return Settings.from_env({"AFTERCARE_VAR_DIR": str(tmp_path), "AFTERCARE_ENV": environment})


def test_configured_widget_secret_is_used(tmp_path):
    assert widget_secret(_settings(tmp_path), "a" * 32) == b"a" * 32
    assert not (tmp_path / "secrets" / "widget_session_secret").exists()


def test_short_widget_secret_is_refused(tmp_path):
    with pytest.raises(ChannelConfigError):
        widget_secret(_settings(tmp_path), "short")


@pytest.mark.parametrize("environment", ["development", "production"])
def test_every_mode_generates_and_keeps_a_private_secret(tmp_path, environment):
    first = widget_secret(_settings(tmp_path, environment), None)
    assert len(first) >= 32
    assert widget_secret(_settings(tmp_path, environment), None) == first
    mode = stat.S_IMODE(os.stat(tmp_path / "secrets" / "widget_session_secret").st_mode)
    assert mode == 0o600
