"""Patients talking to the assistant the way providers deliver their messages: at least once.

Every channel is driven with real request bodies (signed like Meta, Telegram and Twilio
sign them, the widget with a session token, the REST webhook with the API token). A
delivery that does not get an answer below 500 is retried with backoff, within a bounded
window, like a provider retries; a 4xx is final (the provider gives up on a refusal too).
"""

from __future__ import annotations

import itertools
import json
import random
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from tests.channels.conftest import PUBLIC_URL, rendered_responses
from tests.channels.fake_providers import sent_to
from tests.channels.payloads import (
    signed,
    telegram_text,
    twilio_form,
    twilio_signed,
    whatsapp_event,
    whatsapp_text,
)
from tests.chaos.stack import ChaosStack

CHANNELS = ("whatsapp", "telegram", "twilio", "widget", "rest")
PROVIDERS = ("whatsapp", "telegram", "twilio")
WEBHOOKS = {
    "whatsapp": "/webhooks/whatsapp/webhook",
    "telegram": "/webhooks/telegram/webhook",
    "twilio": "/webhooks/twilio/webhook",
    "widget": "/webhooks/widget/message",
    "rest": "/webhooks/rest/webhook",
}
CLIENT_TIMEOUT = 30.0  # a provider, proxy or browser stops waiting for an answer after this long
RETRY_WINDOW = 150.0  # and keeps retrying this long (longer than a server may be down)

RED_FLAGS = {
    "urgent": "I have a fever",
    "emergency": "my lips and tongue are swelling up and I can't breathe properly",
}
# Either wording: a run may span the clinic's opening or closing time.
ESCALATIONS = {level: rendered_responses(f"utter_escalate_{level}") for level in RED_FLAGS}
OPENING = "can I peel it off?"
FOLLOW_UP = "how long will the redness last?"

_numbers = itertools.count(random.randint(10_000, 99_999) * 1000)


@dataclass
class Patient:
    """One conversation: the channel, the patient's id there, and (widget) the session token."""

    channel: str
    user: str
    widget_token: str = ""

    @property
    def conversation_ids(self) -> List[str]:
        """The ids Rasa may file this conversation under (bare, or namespaced by channel)."""
        return [self.user, f"{self.channel}:{self.user}"]


@dataclass
class Delivery:
    """One message the patient sent, every attempt at delivering it, and what came back."""

    patient: Patient
    text: str
    message_id: str
    red_flag: Optional[str] = None  # the triage level this message reports, if any
    in_transcript: bool = True  # False for a body no channel should turn into a turn
    statuses: List[Optional[int]] = field(default_factory=list)  # None: no answer (refused, timeout)
    answers: List[List[str]] = field(default_factory=list)  # reply texts of each 200 HTTP response
    gave_up: bool = False

    @property
    def acked(self) -> bool:
        return 200 in self.statuses

    @property
    def server_errors(self) -> int:
        return sum(1 for status in self.statuses if status is None or status >= 500)


def new_patient(stack: ChaosStack, channel: str) -> Patient:
    """A patient nobody has heard of yet (the widget one with a fresh session)."""
    number = next(_numbers)
    if channel == "whatsapp":
        return Patient(channel, f"4477{number:08d}")
    if channel == "telegram":
        return Patient(channel, str(100_000_000 + number))
    if channel == "twilio":
        return Patient(channel, f"+4477{number:08d}")
    if channel == "rest":
        return Patient(channel, f"chaos-{uuid.uuid4().hex[:12]}")
    token = ""
    deadline = time.monotonic() + RETRY_WINDOW
    while not token and time.monotonic() < deadline and stack.alive():
        status, body = post(stack, "/webhooks/widget/session", b"{}", {"Content-Type": "application/json"})
        if status == 200:
            token = json.loads(body)["token"]
        else:
            time.sleep(2)
    return Patient(channel, token.split(".")[1] if token else f"no-session-{number}", widget_token=token)


def post(
    stack: ChaosStack, path: str, body: bytes, headers: Dict[str, str], timeout: float = CLIENT_TIMEOUT
) -> Tuple[Optional[int], str]:
    """POST once; (status, body), or (None, "") when the server did not answer in time."""
    request = urllib.request.Request(f"{stack.rasa_url}{path}", data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return None, ""


def request_for(stack: ChaosStack, delivery: Delivery) -> Tuple[str, bytes, Dict[str, str]]:
    """The path, body and headers a genuine client sends for this message."""
    patient, secrets = delivery.patient, stack.env
    if patient.channel == "whatsapp":
        payload = whatsapp_event([whatsapp_text(patient.user, delivery.message_id, delivery.text)])
        body, headers = signed(payload, secrets["AFTERCARE_WHATSAPP_APP_SECRET"])
        return WEBHOOKS["whatsapp"], body, headers
    if patient.channel == "telegram":
        update = telegram_text(int(delivery.message_id), int(patient.user), delivery.text)
        headers = {
            "Content-Type": "application/json",
            "X-Telegram-Bot-Api-Secret-Token": secrets["AFTERCARE_TELEGRAM_SECRET_TOKEN"],
        }
        return WEBHOOKS["telegram"], json.dumps(update).encode(), headers
    if patient.channel == "twilio":
        fields = twilio_form(delivery.message_id, patient.user, delivery.text)
        body, headers = twilio_signed(
            PUBLIC_URL + WEBHOOKS["twilio"], fields, secrets["AFTERCARE_TWILIO_AUTH_TOKEN"]
        )
        return WEBHOOKS["twilio"], body, headers
    if patient.channel == "widget":
        body = json.dumps({"text": delivery.text, "id": delivery.message_id}).encode()
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {patient.widget_token}"}
        return WEBHOOKS["widget"], body, headers
    # The REST webhook is server-to-server: it carries the Rasa API token (ignored by stock Rasa).
    path = f"{WEBHOOKS['rest']}?{urllib.parse.urlencode({'token': stack.token})}"
    body = json.dumps({"sender": patient.user, "message": delivery.text}).encode()
    return path, body, {"Content-Type": "application/json"}


def _reply_texts(channel: str, body: str) -> List[str]:
    try:
        answer: Any = json.loads(body)
    except ValueError:
        return []
    if channel == "widget" and isinstance(answer, dict):
        return [m.get("text") or "" for m in answer.get("messages") or []]
    if channel == "rest" and isinstance(answer, list):
        return [m.get("text") or "" for m in answer if isinstance(m, dict)]
    return []


def message_id_for(patient: Patient) -> str:
    """A fresh provider message id in the channel's own format."""
    if patient.channel == "telegram":
        return str(next(_numbers))
    if patient.channel == "twilio":
        return "SM" + uuid.uuid4().hex
    if patient.channel == "whatsapp":
        return "wamid." + uuid.uuid4().hex
    return uuid.uuid4().hex


def deliver(stack: ChaosStack, delivery: Delivery, window: float = RETRY_WINDOW) -> Delivery:
    """Deliver until answered below 500, retrying with backoff within ``window`` seconds.

    Retries stop early when the supervisor itself has exited: nothing can answer any more.
    """
    path, body, headers = request_for(stack, delivery)
    deadline = time.monotonic() + window
    delay = 1.0
    while True:
        status, answer = post(stack, path, body, headers)
        delivery.statuses.append(status)
        if status == 200:
            delivery.answers.append(_reply_texts(delivery.patient.channel, answer))
        if status is not None and status < 500:
            return delivery
        if time.monotonic() + delay > deadline or not stack.alive():
            delivery.gave_up = True
            return delivery
        time.sleep(delay)
        delay = min(delay * 2, 8.0)


def say(stack: ChaosStack, patient: Patient, text: str, red_flag: Optional[str] = None) -> Delivery:
    """Send one message (delivered at least once) and wait briefly for the answer to arrive."""
    before = len(provider_texts(stack, patient)) if patient.channel in PROVIDERS else 0
    delivery = deliver(stack, Delivery(patient, text, message_id_for(patient), red_flag))
    if delivery.acked and patient.channel in PROVIDERS:
        wait_for_provider_reply(stack, patient, before)
    return delivery


def wait_for_provider_reply(stack: ChaosStack, patient: Patient, before: int, timeout: float = 20.0) -> bool:
    """Wait (bounded) until the assistant sent this patient more than ``before`` messages."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(sent_to(stack.fake, patient.channel, patient.user)) > before:
            return True
        time.sleep(0.2)
    return False


def provider_texts(stack: ChaosStack, patient: Patient) -> List[str]:
    """What the assistant sent this patient through the fake provider API."""
    return sent_to(stack.fake, patient.channel, patient.user)
