"""No HTTP response of ours names the server software or its version (issue 17)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.slow


def _get(url: str):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def test_rasa_does_not_announce_its_version(assistant):
    status, headers, body = _get(f"{assistant.rasa_url}/")
    assert status == 200 and "rasa" not in body.lower() and "3.6" not in body
    assert "Server" not in headers
    assert _get(f"{assistant.rasa_url}/version")[0] == 401
    status, _, body = _get(f"{assistant.rasa_url}/version?token={assistant.token}")
    assert status == 200 and "version" in body


def test_the_action_server_answers_health_without_a_banner(assistant):
    status, headers, _ = _get(f"{assistant.action_url}/health")
    assert status == 200
    assert "Server" not in headers
