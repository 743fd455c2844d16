"""A clinic's whole journey: a patient reports a fever, staff get an email, review and resolve it.

Real servers all the way: Rasa + action server + dashboard (`aftercare dashboard`, with its
alert worker) on a temporary SQLite database, a real SMTP server (aiosmtpd), the staff account
created with the CLI, and headless Chromium driving the dashboard.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from aiosmtpd.controller import Controller

from tests.browser import CHROMIUM, CHROMIUM_ARGS, require_chromium
from tests.stack import free_port, start_stack

pytestmark = [pytest.mark.slow, pytest.mark.browser]

SCRIPT = "<script>alert('x')</script>"


class Inbox:
    """Keep every message the local SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope)
        return "250 OK"


def test_urgent_conversation_reaches_staff_by_email_and_dashboard(trained_model, tmp_path):
    require_chromium()
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    extra = {
        "AFTERCARE_SMTP_HOST": "127.0.0.1",
        "AFTERCARE_SMTP_PORT": str(smtp.port),
        "AFTERCARE_SMTP_FROM": "assistant@clinic.test",
        "AFTERCARE_ALERT_EMAILS": "nurse@clinic.test",
        "AFTERCARE_ALERT_POLL_SECONDS": "1",
    }
    stack = start_stack(trained_model, tmp_path / "journey", with_dashboard=True, extra_env=extra)
    try:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bot.cli",
                "staff",
                "add",
                "nurse",
                "--role",
                "reviewer",
                "--password-stdin",
            ],
            input="a-long-nurse-password\n",
            text=True,
            env=stack.env,
            check=True,
            timeout=120,
        )
        patient = f"web-{uuid.uuid4().hex[:8]}"
        stack.texts(patient, f"hi {SCRIPT}")
        replies = stack.texts(patient, "I have a fever of 38.7 and my cheeks really hurt")
        assert replies[0].startswith("⚠️ Pain, fever")

        deadline = time.monotonic() + 60
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.5)
        assert inbox.messages, "no alert email arrived\n" + stack.log.getvalue()[-3000:]
        assert inbox.messages[0].rcpt_tos == ["nurse@clinic.test"]
        assert b"fever of 38.7" not in inbox.messages[0].content  # alerts carry no patient text

        from playwright.sync_api import expect, sync_playwright

        dialogs: list = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            try:
                page = browser.new_page()
                page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
                page.goto(f"{stack.dashboard_url}/login")
                page.fill("#username", "nurse")
                page.fill("#password", "a-long-nurse-password")
                page.click("button[type=submit]")
                rows = page.locator("table.queue tbody tr")
                expect(rows).to_have_count(1)
                expect(rows.nth(0)).to_contain_text("Urgent")
                rows.nth(0).get_by_role("link", name="Open conversation").click()
                expect(page.get_by_text(f"hi {SCRIPT}")).to_be_visible()
                expect(page.locator("li.turn.flagged")).to_contain_text("fever of 38.7")
                page.select_option("select[name=outcome]", "advised_visit")
                page.fill("textarea[name=note]", "Called, seen today at 15:00")
                page.get_by_role("button", name="Resolve").click()
                expect(page.get_by_text("Flag resolved. It has left the queue.")).to_be_visible()
                page.get_by_role("link", name="← Queue").click()
                expect(page.locator("table.queue tbody tr")).to_have_count(0)
            finally:
                browser.close()
        assert dialogs == []
    finally:
        stack.stop()
        smtp.stop()
