"""``make chaos``: the safety promise under faults and hostile input, measured on the real stack.

Each test injects one fault while patients talk on every channel, then judges the outcome
(``tests.chaos.checks``) and adds a row to the chaos table before asserting on it, so a
failing fault never hides the others. Every wait is bounded.

The REST webhook carries no message id, so a REST client cannot retry without risking a
second turn; it takes part where a retry cannot double a turn (baseline, database faults,
corrupt event, hostile bodies, load) and not in the kill/freeze faults.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, List, Optional, Sequence, Tuple, TypeVar

import pytest

from tests.channels.conftest import PUBLIC_URL
from tests.channels.payloads import (
    signed,
    telegram_text,
    twilio_form,
    twilio_signed,
    whatsapp_event,
    whatsapp_text,
)
from tests.chaos import faults
from tests.chaos.checks import FaultRun, settle
from tests.chaos.client import (
    CHANNELS,
    FOLLOW_UP,
    OPENING,
    PROVIDERS,
    RED_FLAGS,
    WEBHOOKS,
    Delivery,
    Patient,
    deliver,
    message_id_for,
    new_patient,
    post,
    say,
)
from tests.chaos.report import Row, format_table
from tests.chaos.stack import ChaosStack

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

RETRYING_CHANNELS = ("whatsapp", "telegram", "twilio", "widget")
KILL_DELAY = 0.7  # seconds after the red flags go out: the turns are under way
FREEZE_SECONDS = 30.0
DB_FAULT_SECONDS = 15.0
OVERSIZED_TEXT = 60_000
OVERSIZED_BODY = 10 * 1024 * 1024
CONCURRENT = 50

T = TypeVar("T")
U = TypeVar("U")


def _parallel(work: Callable[[T], U], items: Sequence[T]) -> List[U]:
    if not items:
        return []
    with ThreadPoolExecutor(max_workers=len(items)) as pool:
        return list(pool.map(work, items))


def _background(work: Callable[[], object]) -> threading.Thread:
    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    return thread


def _level(index: int) -> str:
    return "urgent" if index % 2 == 0 else "emergency"


def _patients(stack: ChaosStack, channels: Sequence[str], each: int = 1) -> List[Patient]:
    return [new_patient(stack, channel) for channel in channels for _ in range(each)]


def _open(run: FaultRun, patients: Sequence[Patient]) -> None:
    """Each patient starts the conversation with a question (and waits for the answer)."""
    run.deliveries += _parallel(lambda p: say(run.stack, p, OPENING), patients)


def _report_red_flags(run: FaultRun, patients: Sequence[Patient]) -> List[threading.Thread]:
    """Every patient reports a red flag at once, in the background; return the threads."""

    def report(args: Tuple[int, Patient]) -> None:
        index, patient = args
        level = _level(index)
        run.deliveries.append(say(run.stack, patient, RED_FLAGS[level], red_flag=level))

    return [_background(lambda a=args: report(a)) for args in enumerate(patients)]


def _join(threads: Sequence[threading.Thread], timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.1, deadline - time.monotonic()))


def _follow_up(run: FaultRun, patients: Sequence[Patient]) -> None:
    run.deliveries += _parallel(lambda p: say(run.stack, p, FOLLOW_UP), patients)


def _finish(run: FaultRun, record: Callable[[Row], Row]) -> None:
    """Judge the fault, add its row to the table, then assert the promise."""
    watchdog = run.stack.watchdog
    kills_before = getattr(run, "_kills_before", 0)
    if watchdog is not None and watchdog.kills > kills_before:
        run.notes.append(
            f"suite killed rasa {watchdog.kills - kills_before}x above {faults.RSS_LIMIT >> 20} MB"
        )
    row = record(settle(run))
    assert row.passed, "\n" + format_table([row])


def _start(name: str, stack: ChaosStack) -> FaultRun:
    run = FaultRun(name, stack)
    run._kills_before = stack.watchdog.kills if stack.watchdog is not None else 0  # type: ignore[attr-defined]
    return run


def test_baseline_without_a_fault(stack: ChaosStack, record: Callable[[Row], Row]) -> None:
    run = _start("none (baseline)", stack)
    patients = _patients(stack, CHANNELS)
    _open(run, patients)
    _join(_report_red_flags(run, patients))
    _follow_up(run, patients)
    _finish(run, record)


@pytest.mark.parametrize("server", ["actions", "rasa", "dashboard"])
def test_kill_9_mid_conversation(stack: ChaosStack, record: Callable[[Row], Row], server: str) -> None:
    run = _start(f"kill -9 {server} mid-conversation", stack)
    patients = _patients(stack, RETRYING_CHANNELS)
    _open(run, patients)
    run.started = time.monotonic()
    if server == "actions":
        # Down before the red flags arrive, so every flag write meets a dead action server
        # (killed mid-turn, a fast turn may already have written its flag).
        faults.kill9(stack, server)
        threads = _report_red_flags(run, patients)
    else:
        threads = _report_red_flags(run, patients)
        time.sleep(KILL_DELAY)
        faults.kill9(stack, server)
    _join(threads)
    _follow_up(run, patients)
    _finish(run, record)


def test_action_server_frozen(stack: ChaosStack, record: Callable[[Row], Row]) -> None:
    run = _start(f"SIGSTOP actions ({FREEZE_SECONDS:.0f} s)", stack)
    patients = _patients(stack, RETRYING_CHANNELS)
    _open(run, patients)
    run.started = time.monotonic()
    with faults.frozen(stack, "actions") as pids:
        threads = _report_red_flags(run, patients)
        deadline = time.monotonic() + FREEZE_SECONDS
        while time.monotonic() < deadline and not faults.replaced(stack, "actions", pids):
            time.sleep(1)
    _join(threads)
    _follow_up(run, patients)
    _finish(run, record)


@pytest.mark.parametrize("outage", ["read-only", "unavailable"])
def test_database_outage(stack: ChaosStack, record: Callable[[Row], Row], outage: str) -> None:
    run = _start(f"database {outage} ({DB_FAULT_SECONDS:.0f} s)", stack)
    patients = _patients(stack, CHANNELS)
    _open(run, patients)
    run.started = time.monotonic()
    fault = faults.write_locked if outage == "read-only" else faults.unavailable
    with fault(stack.database_path):
        threads = _report_red_flags(run, patients)
        time.sleep(DB_FAULT_SECONDS)
    _join(threads)
    _follow_up(run, patients)
    _finish(run, record)


def test_corrupt_stored_event(stack: ChaosStack, record: Callable[[Row], Row]) -> None:
    run = _start("one stored event corrupted", stack)
    patients = _patients(stack, ("whatsapp", "widget", "rest"))
    _open(run, patients)
    for patient in patients:
        faults.corrupt_latest_event(stack.database_path, patient.conversation_ids)
    run.started = time.monotonic()
    _join(_report_red_flags(run, patients))
    _follow_up(run, patients)
    _finish(run, record)


def _say_three_times(run: FaultRun, patient: Patient, text: str, red_flag: Optional[str] = None) -> None:
    delivery = Delivery(patient, text, message_id_for(patient), red_flag)
    _parallel(lambda _: deliver(run.stack, delivery), range(3))
    run.deliveries.append(delivery)
    time.sleep(3)  # the patient reads the answer before writing again


def test_each_message_delivered_three_times(stack: ChaosStack, record: Callable[[Row], Row]) -> None:
    run = _start("every message delivered 3x", stack)
    patients = _patients(stack, RETRYING_CHANNELS)

    def converse(args: Tuple[int, Patient]) -> None:
        index, patient = args
        _say_three_times(run, patient, OPENING)
        _say_three_times(run, patient, RED_FLAGS[_level(index)], red_flag=_level(index))
        _say_three_times(run, patient, FOLLOW_UP)

    _parallel(converse, list(enumerate(patients)))
    _finish(run, record)


def test_rasa_killed_between_ack_and_processing(stack: ChaosStack, record: Callable[[Row], Row]) -> None:
    run = _start("rasa killed after the 200 ack", stack)
    patients = _patients(stack, PROVIDERS, each=2)
    _open(run, patients)
    run.started = time.monotonic()
    red = [
        Delivery(p, RED_FLAGS[_level(i)], message_id_for(p), red_flag=_level(i))
        for i, p in enumerate(patients)
    ]
    run.deliveries += _parallel(lambda d: deliver(stack, d), red)
    faults.kill9(stack, "rasa")
    _follow_up(run, patients)
    _finish(run, record)


def _oversized_text(level: str) -> str:
    filler = " and it hurts" * (OVERSIZED_TEXT // 13)
    return (RED_FLAGS[level] + filler)[:OVERSIZED_TEXT]


def _ten_megabyte_bodies(stack: ChaosStack) -> List[Tuple[str, bytes, dict]]:
    blob = "x" * OVERSIZED_BODY
    whatsapp = signed(
        whatsapp_event([whatsapp_text("447700900999", message_id_for(Patient("whatsapp", "")), blob)]),
        stack.env["AFTERCARE_WHATSAPP_APP_SECRET"],
    )
    telegram_headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": stack.env["AFTERCARE_TELEGRAM_SECRET_TOKEN"],
    }
    twilio = twilio_signed(
        PUBLIC_URL + WEBHOOKS["twilio"],
        twilio_form("SM" + "0" * 32, "+447700900999", blob),
        stack.env["AFTERCARE_TWILIO_AUTH_TOKEN"],
    )
    session = new_patient(stack, "widget")
    return [
        (WEBHOOKS["whatsapp"], whatsapp[0], whatsapp[1]),
        (WEBHOOKS["telegram"], json.dumps(telegram_text(1, 555000111, blob)).encode(), telegram_headers),
        (WEBHOOKS["twilio"], twilio[0], twilio[1]),
        (
            WEBHOOKS["widget"],
            json.dumps({"text": blob, "id": "oversized-1"}).encode(),
            {"Content-Type": "application/json", "Authorization": f"Bearer {session.widget_token}"},
        ),
        (
            f"{WEBHOOKS['rest']}?token={stack.token}",
            json.dumps({"sender": "chaos-oversized", "message": blob}).encode(),
            {"Content-Type": "application/json"},
        ),
    ]


def _send_bodies(run: FaultRun, bodies: Sequence[Tuple[str, bytes, dict]]) -> None:
    """Send hostile bodies once each (a refusal is the right answer); note what went wrong."""
    failures: List[str] = []
    for number, (path, body, headers) in enumerate(bodies, start=1):
        status, _ = post(run.stack, path, body, headers, timeout=60)
        if status is None or status >= 500:
            failures.append(f"#{number} {path.split('?')[0]} -> {status or 'no answer'}")
        run.other_bodies += 1
    if failures:
        run.notes.append(
            f"{len(failures)}/{len(bodies)} hostile bodies got 5xx or no answer, first {failures[0]}"
        )


def test_oversized_messages_and_bodies(stack: ChaosStack, record: Callable[[Row], Row]) -> None:
    run = _start(f"{OVERSIZED_TEXT:,}-char red flag + 10 MB bodies", stack)
    for index, patient in enumerate(_patients(stack, CHANNELS)):
        level = _level(index)  # one at a time: each can cost Rasa gigabytes today
        run.deliveries.append(say(stack, patient, _oversized_text(level), red_flag=level))
    _send_bodies(run, _ten_megabyte_bodies(stack))
    _finish(run, record)


def _malformed_bodies(stack: ChaosStack) -> List[Tuple[str, bytes, dict]]:
    app_secret = stack.env["AFTERCARE_WHATSAPP_APP_SECRET"]
    telegram_headers = {
        "Content-Type": "application/json",
        "X-Telegram-Bot-Api-Secret-Token": stack.env["AFTERCARE_TELEGRAM_SECRET_TOKEN"],
    }
    widget = new_patient(stack, "widget")
    widget_headers = {"Content-Type": "application/json", "Authorization": f"Bearer {widget.widget_token}"}
    json_headers = {"Content-Type": "application/json"}
    rest = f"{WEBHOOKS['rest']}?token={stack.token}"
    wrong_whatsapp = {
        "object": "whatsapp_business_account",
        "entry": [
            {"changes": [{"value": {"messages": [{"from": 5, "id": None, "type": "text", "text": ["x"]}]}}]}
        ],
    }
    surrogate_whatsapp = json.dumps(whatsapp_event([whatsapp_text("\ud800", "wamid.chaos-surrogate", "hi")]))
    twilio_token = stack.env["AFTERCARE_TWILIO_AUTH_TOKEN"]
    twilio_url = PUBLIC_URL + WEBHOOKS["twilio"]
    twilio_no_sender = twilio_signed(
        twilio_url, {"MessageSid": "SM" + "1" * 32, "NumMedia": "many"}, twilio_token
    )
    return [
        (WEBHOOKS["whatsapp"], *signed_raw(b"{not json", app_secret)),
        (WEBHOOKS["whatsapp"], *signed(wrong_whatsapp, app_secret)),
        (WEBHOOKS["whatsapp"], *signed_raw(surrogate_whatsapp.encode(), app_secret)),
        (WEBHOOKS["telegram"], b"{not json", telegram_headers),
        (
            WEBHOOKS["telegram"],
            json.dumps({"update_id": "x", "message": {"chat": {"id": "a"}, "text": 5}}).encode(),
            telegram_headers,
        ),
        (WEBHOOKS["telegram"], json.dumps(telegram_text(7, 555000222, "\ud800")).encode(), telegram_headers),
        (WEBHOOKS["twilio"], b"%%%\xff\xfe", twilio_signed(twilio_url, {}, twilio_token)[1]),
        (WEBHOOKS["twilio"], twilio_no_sender[0], twilio_no_sender[1]),
        (WEBHOOKS["widget"], b"{not json", widget_headers),
        (WEBHOOKS["widget"], json.dumps({"text": 5, "id": []}).encode(), widget_headers),
        (WEBHOOKS["widget"], b'{"text": "\\ud800", "id": "chaos-surrogate-1"}', widget_headers),
        (rest, b"{not json", json_headers),
        (rest, json.dumps({"sender": 5, "message": ["x"]}).encode(), json_headers),
        (rest, b'{"sender":"\\ud800","message":"hi"}', json_headers),
    ]


def signed_raw(body: bytes, app_secret: str) -> Tuple[bytes, dict]:
    """Sign raw bytes as Meta does (so a malformed body passes authentication and reaches the parser)."""
    from bot.channels.security import meta_signature

    return body, {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, app_secret)}


def test_malformed_bodies_then_patients(stack: ChaosStack, record: Callable[[Row], Row]) -> None:
    run = _start("malformed bodies (bad JSON, \\ud800, wrong types)", stack)
    _send_bodies(run, _malformed_bodies(stack))
    patients = _patients(stack, CHANNELS)
    _join(_report_red_flags(run, patients))
    _finish(run, record)


def test_fifty_concurrent_red_flags(stack: ChaosStack, record: Callable[[Row], Row]) -> None:
    run = _start(f"{CONCURRENT} concurrent red-flag conversations", stack)
    patients = _patients(stack, CHANNELS, each=CONCURRENT // len(CHANNELS))
    _join(_report_red_flags(run, patients), timeout=400)
    _finish(run, record)
