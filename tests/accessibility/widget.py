"""Drive the website widget on its demo page, served by the real Rasa server, into each state."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Tuple

from bot.media.texts import load_photo_texts
from tests.stack import Stack

ORDINARY_QUESTION = "can I peel it off?"
EMERGENCY_MESSAGE = "my lips are swelling and it is hard to breathe"


def open_demo(page: Any, assistant: Stack) -> None:
    """Load the demo page and wait until the widget has its configuration and history."""
    page.goto(f"{assistant.rasa_url}/webhooks/widget/demo")
    page.wait_for_selector(".acw[data-ready='true']", state="attached")


def open_chat(page: Any) -> None:
    """Open the chat from its launcher, as a keyboard user would."""
    page.focus(".acw-launcher")
    page.keyboard.press("Enter")
    page.wait_for_selector(".acw-panel", state="visible")


def ask(page: Any, text: str) -> None:
    """Type into the message box and send with Enter; wait until every reply has arrived."""
    page.fill("#acw-input", text)
    page.press("#acw-input", "Enter")
    page.wait_for_function(
        "() => !document.querySelector('.acw-pending') && document.querySelector('.acw-typing').hidden"
    )


@dataclass(frozen=True)
class WidgetState:
    """A state the widget can be in, and the patient's steps that reach it from a fresh browser."""

    name: str
    steps: Tuple[Callable[[Any], None], ...]

    def reach(self, page: Any, assistant: Stack) -> None:
        open_demo(page, assistant)
        for step in self.steps:
            step(page)


def _ask_ordinary(page: Any) -> None:
    ask(page, ORDINARY_QUESTION)
    page.wait_for_selector(".acw-bot")


def _ask_emergency(page: Any) -> None:
    ask(page, EMERGENCY_MESSAGE)
    page.wait_for_selector(".acw-alert.acw-emergency a.acw-call")


def _send_a_photo_and_reload(page: Any) -> None:
    """Send a photo (after the notice), reload the page, reopen: the history shows the photo again."""
    from tests.media.images import photo_bytes

    labels = load_photo_texts().widget
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "cheek.jpg"
        photo.write_bytes(photo_bytes("JPEG"))
        page.get_by_role("button", name=labels["attach_button"]).click()
        with page.expect_file_chooser() as chooser:
            page.get_by_role("button", name=labels["consent_accept"]).click()
        chooser.value.set_files(str(photo))
        page.wait_for_selector(".acw-user img.acw-photo")
        page.wait_for_function(
            "() => !document.querySelector('.acw-pending') && document.querySelector('.acw-typing').hidden"
        )
    page.reload()
    page.wait_for_selector(".acw[data-ready='true']", state="attached")
    open_chat(page)
    page.wait_for_function(
        "() => (document.querySelector('.acw-user img.acw-photo') || {}).naturalWidth > 0"
    )


# Every widget state the accessibility checks cover. A new screen (e.g. a photo upload) adds a row.
WIDGET_STATES = (
    WidgetState("closed", ()),
    WidgetState("open", (open_chat,)),
    WidgetState("ordinary answer", (open_chat, _ask_ordinary)),
    WidgetState("emergency escalation", (open_chat, _ask_emergency)),
    WidgetState("reloaded with a photo", (open_chat, _send_a_photo_and_reload)),
)
