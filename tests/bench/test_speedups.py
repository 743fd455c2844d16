"""The Rasa-process patches keep Rasa's behaviour (same errors, same requests) with fewer connections."""

from __future__ import annotations

import asyncio
import gc
from typing import Any, List, Set

import pytest
from aiohttp import web
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import ClientResponseError, EndpointConfig

from bot.launch import speedups


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch) -> None:
    """Apply the patches for one test; monkeypatch puts Rasa's originals back afterwards."""
    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    monkeypatch.setattr(EndpointConfig, "request", EndpointConfig.request)
    speedups.validate_action_responses_once()
    speedups.reuse_http_connections()


def _action() -> RemoteAction:
    return RemoteAction("action_answer_question", EndpointConfig("http://127.0.0.1:9/webhook"))


def test_a_valid_action_response_passes(patched: None) -> None:
    response = {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]}
    assert _action()._validate_action_result(response) is True


def test_an_invalid_action_response_fails_with_rasas_explanation(patched: None) -> None:
    with pytest.raises(ValidationError) as error:
        _action()._validate_action_result({"events": "not a list"})
    assert "Failed to validate Action server response" in error.value.message


def test_requests_to_an_endpoint_share_one_connection_and_keep_headers(patched: None) -> None:
    peers: Set[Any] = set()
    secrets: List[str] = []

    async def webhook(request: web.Request) -> web.Response:
        peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        secrets.append(request.headers.get("X-Secret", ""))
        if (await request.json()).get("fail"):
            return web.Response(status=500)
        return web.json_response({"events": [], "responses": []})

    async def scenario() -> List[Any]:
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", headers={"X-Secret": "s3"})
        try:
            answers = [await endpoint.request(json={"n": n}, method="post", timeout=5) for n in range(5)]
            with pytest.raises(ClientResponseError):
                await endpoint.request(json={"fail": True}, method="post", timeout=5)
            return answers
        finally:
            await runner.cleanup()

    answers = asyncio.run(scenario())
    assert answers == [{"events": [], "responses": []}] * 5
    assert len(peers) == 1
    assert secrets == ["s3"] * 6


def test_settling_the_collector_freezes_what_is_loaded() -> None:
    before = gc.get_threshold()
    try:
        speedups.settle_garbage_collector()
        assert gc.get_freeze_count() > 0
        assert gc.get_threshold() == speedups.GC_THRESHOLDS
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@pytest.mark.slow
def test_a_model_built_by_inference_parses_exactly_as_rasas_own_load(
    trained_model: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same intents, rankings, confidences and entities as Rasa's load, on patient-style messages."""
    from rasa.core.agent import load_agent
    from rasa.utils.tensorflow.models import RasaModel

    texts = [
        "my skin is peeling, can I peel it off?",
        "I have a fever of 39 since yesterday",
        "my lips are swelling and I can't breathe properly",
        "I had a dermapen treatment 3 days ago",
        "thanks, bye",
        "asdfgh",
    ]

    async def parse_all() -> List[Any]:
        agent = await load_agent(model_path=str(trained_model))
        return [await agent.parse_message(text) for text in texts]

    rasas = asyncio.run(parse_all())
    monkeypatch.setattr(RasaModel, "load", RasaModel.__dict__["load"])
    speedups.build_models_by_inference()
    ours = asyncio.run(parse_all())
    for theirs, mine in zip(rasas, ours, strict=True):
        assert mine["intent"] == theirs["intent"]
        assert mine["intent_ranking"] == theirs["intent_ranking"]
        assert mine["entities"] == theirs["entities"]
