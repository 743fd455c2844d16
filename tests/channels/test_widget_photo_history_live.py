"""A widget patient's own photos after a reload: the history names them, the thumbnail route
serves them to that patient only (401 without a session, 404 for anyone else's), in Chromium too.

Reuses the session's ``channel_stack`` (one assistant for every channel test).
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, Iterator, Optional, Tuple

import pytest

from bot.media.texts import load_photo_texts
from tests.browser import chromium_page
from tests.media.images import photo_bytes

pytestmark = pytest.mark.slow

BASE = "/webhooks/widget"


def _session(channels: Any) -> str:
    status, body = channels.post(f"{BASE}/session", b"{}", {"Content-Type": "application/json"})
    assert status == 200
    return str(json.loads(body)["token"])


def _upload(channels: Any, token: str, caption: Optional[str] = None) -> None:
    image = base64.b64encode(photo_bytes("JPEG")).decode()
    body = {"token": token, "id": uuid.uuid4().hex, "image": image, "consent": True, "caption": caption}
    status, answer = channels.post(f"{BASE}/photo", json.dumps(body).encode(), {"Content-Type": "text/plain"})
    assert status == 200, answer


def _history(channels: Any, token: str) -> Dict[str, Any]:
    status, body = channels.get(f"{BASE}/history", {"Authorization": f"Bearer {token}"})
    assert status == 200
    return dict(json.loads(body))


def _thumbnail(
    channels: Any, photo_id: int, headers: Dict[str, str], body: Optional[bytes] = None
) -> Tuple[int, Dict[str, str], bytes]:
    request = urllib.request.Request(
        f"{channels.url}{BASE}/photo/{photo_id}/thumbnail",
        data=body,
        headers=headers,
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_the_history_names_the_patients_photos_and_only_they_may_fetch_them(channel_stack) -> None:
    token = _session(channel_stack)
    _upload(channel_stack, token)
    _upload(channel_stack, token, caption="is this redness normal")
    photos = [m for m in _history(channel_stack, token)["messages"] if m.get("photo")]
    assert [(m["from"], m["text"]) for m in photos] == [("user", ""), ("user", "is this redness normal")]
    first = int(photos[0]["photo"]["id"])

    status, headers, image = _thumbnail(channel_stack, first, {"Authorization": f"Bearer {token}"})
    assert status == 200 and image[:3] == b"\xff\xd8\xff"  # a JPEG
    assert "no-store" in headers["Cache-Control"]
    # As the widget asks: POST with the token in a plain-text body.
    body = json.dumps({"token": token}).encode()
    assert _thumbnail(channel_stack, first, {"Content-Type": "text/plain"}, body)[0] == 200

    # No session, a forged one: 401. Another patient's session, or no such photo: 404.
    assert _thumbnail(channel_stack, first, {})[0] == 401
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert _thumbnail(channel_stack, first, {"Authorization": f"Bearer {forged}"})[0] == 401
    other = _session(channel_stack)
    assert _thumbnail(channel_stack, first, {"Authorization": f"Bearer {other}"})[0] == 404
    assert not [m for m in _history(channel_stack, other)["messages"] if m.get("photo")]
    assert _thumbnail(channel_stack, 10_000_000, {"Authorization": f"Bearer {token}"})[0] == 404


@pytest.fixture()
def page(channel_stack) -> Iterator[Any]:
    with chromium_page() as page:
        yield page


@pytest.mark.browser
def test_after_a_reload_the_widget_shows_the_patients_earlier_photo(page, channel_stack, tmp_path) -> None:
    from playwright.sync_api import expect

    texts = load_photo_texts()
    photo = tmp_path / "cheek.jpg"
    photo.write_bytes(photo_bytes("JPEG", size=(1200, 900)))
    page.goto(f"{channel_stack.url}{BASE}/demo")
    page.wait_for_selector(".acw[data-ready='true']", state="attached")
    page.click(".acw-launcher")
    page.get_by_role("button", name=texts.widget["attach_button"]).click()
    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name=texts.widget["consent_accept"]).click()
    chooser.value.set_files(str(photo))
    expect(page.locator(".acw-bot").last).to_contain_text(texts.say("received_reply")[:60])

    page.reload()
    page.wait_for_selector(".acw[data-ready='true']", state="attached")
    page.click(".acw-launcher")
    restored = page.locator(".acw-user img.acw-photo")
    expect(restored).to_have_count(1)
    expect(restored).to_have_attribute("alt", texts.widget["photo_alt"])
    page.wait_for_function("() => document.querySelector('.acw-user img.acw-photo').naturalWidth > 0")
    assert restored.evaluate("img => img.src").startswith("blob:")
