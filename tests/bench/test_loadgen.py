"""The closed-loop load generator against a real HTTP server on loopback."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import defaultdict
from typing import Any, Dict, List, Tuple

import pytest
from aiohttp import web

from bench.dialogues import DIALOGUES, RED_FLAG, Dialogue, Turn, is_escalation, long_conversation
from bench.loadgen import Reply, RestClient, closed_loop, conversation, require_loopback


class FakeAssistant:
    """A REST webhook that records what it got, in order, and how many requests were in flight."""

    def __init__(self) -> None:
        self.received: Dict[str, List[str]] = defaultdict(list)
        self.in_flight = 0
        self.max_in_flight = 0
        self.tokens: List[str] = []

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.tokens.append(request.query.get("token", ""))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.005)
            self.received[body["sender"]].append(body["message"])
            if body["message"] == "boom":
                return web.Response(status=500, text="failed")
            if "fever" in body["message"]:
                return web.json_response([{"text": "⚠️ Please contact your doctor today."}])
            return web.json_response([{"recipient_id": body["sender"], "text": "ok"}])
        finally:
            self.in_flight -= 1


async def _serve(assistant: FakeAssistant) -> Tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/webhooks/rest/webhook", assistant.webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


def _run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


def test_the_message_budget_bounds_a_run_exactly():
    assistant = FakeAssistant()

    async def scenario():
        runner, url = await _serve(assistant)
        try:
            async with RestClient(url, "secret-token") as client:
                return await closed_loop(client.send, DIALOGUES, 7, 600.0, 45, "t")
        finally:
            await runner.cleanup()

    result = _run(scenario())
    assert len(result.samples) == 45
    assert sum(len(messages) for messages in assistant.received.values()) == 45
    assert assistant.max_in_flight <= 7
    assert set(assistant.tokens) == {"secret-token"}
    assert result.errors == 0
    assert result.replies_per_s > 0


def test_each_patient_plays_its_dialogues_in_order_one_message_at_a_time():
    assistant = FakeAssistant()

    async def scenario():
        runner, url = await _serve(assistant)
        try:
            async with RestClient(url, "t") as client:
                return await closed_loop(client.send, DIALOGUES, 5, 600.0, 120, "order")
        finally:
            await runner.cleanup()

    _run(scenario())
    by_text = {tuple(turn.text for turn in d.turns) for d in DIALOGUES}
    for sender, messages in assistant.received.items():
        assert any(full[: len(messages)] == tuple(messages) for full in by_text), sender
    assert assistant.max_in_flight == 5


def test_the_time_budget_stops_new_messages():
    ticks = itertools.count()
    sent: List[str] = []

    async def send(sender: str, message: str) -> Reply:
        sent.append(message)
        return Reply(("ok",))

    # A clock that advances one "second" per reading: the 10 s budget is spent after a few messages.
    result = _run(closed_loop(send, DIALOGUES, 3, 10.0, 10_000, "c", clock=lambda: float(next(ticks))))
    assert 0 < len(result.samples) < 10
    assert len(sent) == len(result.samples)


def test_errors_and_escalations_are_counted_per_turn():
    assistant = FakeAssistant()
    dialogue = Dialogue(
        "mixed",
        (Turn("hello", "greeting"), Turn("boom", "knowledge"), Turn("I have a fever", RED_FLAG)),
    )

    async def scenario():
        runner, url = await _serve(assistant)
        try:
            async with RestClient(url, "t") as client:
                return await conversation(client.send, "one", dialogue.turns)
        finally:
            await runner.cleanup()

    result = _run(scenario())
    assert result.errors == 1
    assert result.error_kinds() == {"http 500": 1}
    assert result.red_flags() == (1, 1)
    assert [sample.position for sample in result.samples] == [1, 2, 3]


def test_a_server_that_is_not_there_is_an_error_not_a_crash():
    async def scenario():
        async with RestClient("http://127.0.0.1:9", "t", timeout_s=5) as client:
            return await client.send("x", "hi")

    reply = _run(scenario())
    assert reply.error is not None and reply.texts == ()


def test_only_loopback_addresses_are_accepted():
    assert require_loopback("http://127.0.0.1:5005") == "http://127.0.0.1:5005"
    assert require_loopback("http://localhost:5005")
    with pytest.raises(ValueError):
        require_loopback("http://10.0.0.5:5005")
    with pytest.raises(ValueError):
        RestClient("http://example.org", "t")


def test_the_long_conversation_has_the_requested_length_and_no_red_flag():
    turns = list(long_conversation(200))
    assert len(turns) == 200
    assert all(turn.kind != RED_FLAG for turn in turns)


def test_every_benchmark_dialogue_but_one_has_a_red_flag_turn():
    with_red_flag = [d for d in DIALOGUES if any(t.kind == RED_FLAG for t in d.turns)]
    assert len(with_red_flag) >= len(DIALOGUES) - 1
    assert all(len(d.turns) >= 4 for d in DIALOGUES)


def test_escalation_replies_are_recognised_by_the_domain_marker():
    assert is_escalation(("⚠️ Pain, fever or signs of infection ...",))
    assert not is_escalation(("Peeling is normal.",))


def test_bad_json_from_the_server_is_an_error():
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=json.dumps({"not": "a list"}), content_type="application/json")

    async def scenario():
        app = web.Application()
        app.router.add_post("/webhooks/rest/webhook", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            async with RestClient(f"http://127.0.0.1:{port}", "t") as client:
                return await client.send("x", "hi")
        finally:
            await runner.cleanup()

    assert _run(scenario()).error == "bad json"
