"""The staff JSON API: Bearer tokens only, audited, the documented contract, takeover and replies."""

from __future__ import annotations

import re
from typing import Any, Dict, List, Tuple

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from bot.dashboard.api import openapi
from bot.storage import api_tokens, audit, outbound, staff
from bot.storage.models import Flag
from tests.dashboard.conftest import add_flag

CONVERSATION = "whatsapp:447700900123"
OTHER = "telegram:5550001"


def token_for(session_factory: sessionmaker, username: str) -> str:
    with session_factory.begin() as session:
        user = staff.get_staff(session=session, username=username)
        assert user is not None
        return api_tokens.create_token(session=session, staff=user)[1]


@pytest.fixture
def flag_id(session_factory: sessionmaker) -> int:
    add_flag(session_factory, OTHER, "routine", channel="telegram")
    return add_flag(
        session_factory, CONVERSATION, "urgent", channel="whatsapp", channel_user_id="447700900123"
    )


@pytest.fixture
def tokens(client: FlaskClient, session_factory: sessionmaker) -> Dict[str, str]:
    return {name: token_for(session_factory, name) for name in ("nurse", "boss")}


def bearer(token: str) -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def api_rules(app: Flask) -> List[Tuple[str, str]]:
    """(OpenAPI path, method) of every route the app serves under /api."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api"):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
            found += [(path, method.lower()) for method in rule.methods - {"HEAD", "OPTIONS"}]
    return sorted(found)


def concrete(path: str, flag_id: int) -> str:
    return path.replace("{conversation_id}", CONVERSATION).replace("{flag_id}", str(flag_id))


def test_every_api_route_refuses_requests_without_a_valid_token(
    app, client, auth, tokens, flag_id, session_factory
):
    auth.login("nurse")  # a dashboard session cookie is not an API credential
    for path, method in api_rules(app):
        url = concrete(path, flag_id)
        for headers in ({}, bearer("aft_not-a-real-token"), {"Authorization": "Basic bnVyc2U6eA=="}):
            response = client.open(url, method=method.upper(), headers=headers, json={"text": "hi"})
            assert response.status_code == 401, (method, url, headers)
            assert response.get_json() == {"error": "unauthorized"}
            assert response.headers["WWW-Authenticate"] == "Bearer"
    with session_factory.begin() as session:
        denied = audit.entries(session=session, action="access.denied", limit=500)
    assert len(denied) >= 3 * len(api_rules(app))


def test_a_revoked_token_or_a_disabled_account_stops_working(client, tokens, flag_id, session_factory):
    assert client.get("/api/flags", headers=bearer(tokens["nurse"])).status_code == 200
    with session_factory.begin() as session:
        nurse = staff.get_staff(session=session, username="nurse")
        assert api_tokens.revoke_tokens(session=session, staff=nurse) == 1
        boss = staff.get_staff(session=session, username="boss")
        boss.active = False
    assert client.get("/api/flags", headers=bearer(tokens["nurse"])).status_code == 401
    assert client.get("/api/flags", headers=bearer(tokens["boss"])).status_code == 401


def test_flags_are_listed_with_the_queue_filters(client, tokens, flag_id):
    body = client.get("/api/flags", headers=bearer(tokens["nurse"])).get_json()
    assert [(f["conversation_id"], f["level"]) for f in body["flags"]] == [
        (CONVERSATION, "urgent"),
        (OTHER, "routine"),
    ]
    assert set(body["flags"][0]) >= {"id", "conversation_id", "level", "kind", "status", "created_at"}
    urgent = client.get("/api/flags?level=urgent&status=all", headers=bearer(tokens["nurse"])).get_json()
    assert [f["id"] for f in urgent["flags"]] == [flag_id]
    assert client.get("/api/flags?from=yesterday", headers=bearer(tokens["nurse"])).status_code == 400


def test_a_reply_is_queued_once_per_idempotency_key_and_shown_with_its_status(
    client, tokens, flag_id, session_factory
):
    headers = {**bearer(tokens["nurse"]), "Idempotency-Key": "k-1"}
    first = client.post(
        f"/api/conversations/{CONVERSATION}/messages", json={"text": "Hello, I am Sam"}, headers=headers
    )
    again = client.post(
        f"/api/conversations/{CONVERSATION}/messages", json={"text": "Hello, I am Sam"}, headers=headers
    )
    assert first.status_code == again.status_code == 202
    assert first.get_json()["message"]["id"] == again.get_json()["message"]["id"]
    with session_factory.begin() as session:
        rows = outbound.for_conversation(session=session, conversation_id=CONVERSATION)
        assert [(r.kind, r.author, r.text, r.status) for r in rows] == [
            ("staff", "nurse", "Hello, I am Sam", "queued")
        ]
    transcript = client.get(f"/api/conversations/{CONVERSATION}", headers=bearer(tokens["nurse"])).get_json()
    [message] = transcript["messages"]
    assert message == {
        **message,
        "from": "staff",
        "text": "Hello, I am Sam",
        "status": "queued",
        "attachments": [],
    }


def test_replies_are_refused_when_empty_too_long_or_to_an_unflagged_conversation(client, tokens, flag_id):
    url = f"/api/conversations/{CONVERSATION}/messages"
    assert client.post(url, json={"text": "  "}, headers=bearer(tokens["nurse"])).get_json() == {
        "error": "empty"
    }
    assert client.post(url, json={"text": "x" * 2001}, headers=bearer(tokens["nurse"])).status_code == 400
    stranger = "/api/conversations/whatsapp:15550001111/messages"
    assert client.post(stranger, json={"text": "spam"}, headers=bearer(tokens["nurse"])).status_code == 404


def test_a_second_member_of_staff_cannot_take_over_or_reply_until_hand_back(
    client, tokens, flag_id, session_factory
):
    base = f"/api/conversations/{CONVERSATION}"
    taken = client.post(f"{base}/takeover", headers=bearer(tokens["nurse"]))
    assert taken.status_code == 200 and taken.get_json()["takeover"]["staff"] == "nurse"
    refused = client.post(f"{base}/takeover", headers=bearer(tokens["boss"]))
    assert refused.status_code == 409 and refused.get_json() == {"error": "held_by_other", "held_by": "nurse"}
    reply = client.post(f"{base}/messages", json={"text": "Boss here"}, headers=bearer(tokens["boss"]))
    assert reply.status_code == 409 and reply.get_json()["held_by"] == "nurse"
    assert client.get(base, headers=bearer(tokens["boss"])).get_json()["takeover"]["staff"] == "nurse"

    assert client.post(f"{base}/handback", headers=bearer(tokens["nurse"])).get_json() == {
        "handed_back": True
    }
    assert client.post(f"{base}/handback", headers=bearer(tokens["nurse"])).get_json() == {
        "handed_back": False
    }
    assert client.post(f"{base}/takeover", headers=bearer(tokens["boss"])).status_code == 200
    with session_factory.begin() as session:
        kinds = [r.kind for r in outbound.for_conversation(session=session, conversation_id=CONVERSATION)]
        actions = [e.action for e in audit.entries(session=session, actor="nurse", action="conversation.")]
    assert kinds == ["notice", "notice", "notice"]  # nurse's start and end, boss's start
    assert set(actions) >= {"conversation.takeover", "conversation.handback"}


def test_flags_are_acknowledged_and_resolved_with_the_alarm_outcome_audited(
    client, tokens, flag_id, session_factory
):
    headers = bearer(tokens["nurse"])
    assert (
        client.post(f"/api/flags/{flag_id}/acknowledge", headers=headers).get_json()["flag"]["status"]
        == "acknowledged"
    )
    assert client.post(f"/api/flags/{flag_id}/acknowledge", headers=headers).status_code == 409
    resolved = client.post(
        f"/api/flags/{flag_id}/resolve", json={"outcome": "true_alarm", "note": "seen"}, headers=headers
    )
    assert resolved.get_json()["flag"]["status"] == "resolved"
    assert (
        client.post(f"/api/flags/{flag_id}/resolve", json={"outcome": "maybe"}, headers=headers).status_code
        == 400
    )
    assert client.post("/api/flags/999999/acknowledge", headers=headers).status_code == 404
    with session_factory.begin() as session:
        [entry] = audit.entries(session=session, action="flag.resolve", target=f"flag:{flag_id}")
        assert entry.actor == "nurse" and entry.detail == "outcome=other alarm=true_alarm"
        assert session.execute(select(Flag.outcome).where(Flag.id == flag_id)).scalar_one() == "other"


def _validate(document: Dict[str, Any], schema: Dict[str, Any], body: Any) -> None:
    resolver = jsonschema.RefResolver("", document)
    jsonschema.Draft202012Validator(schema, resolver=resolver).validate(body)


def test_every_api_route_is_documented_and_answers_as_documented(app, client, tokens, flag_id):
    document = openapi()
    served = api_rules(app)
    documented = sorted((path, method) for path, item in document["paths"].items() for method in item)
    assert served == documented
    assert client.get("/api/openapi.json", headers=bearer(tokens["nurse"])).get_json() == document

    calls = [  # (method, path, json) in an order that exercises the success answers
        ("get", "/api/openapi.json", None),
        ("get", "/api/flags", None),
        ("get", "/api/conversations/{conversation_id}", None),
        ("post", "/api/conversations/{conversation_id}/takeover", None),
        ("post", "/api/conversations/{conversation_id}/messages", {"text": "Hello"}),
        ("post", "/api/conversations/{conversation_id}/handback", None),
        ("post", "/api/flags/{flag_id}/acknowledge", None),
        ("post", "/api/flags/{flag_id}/acknowledge", None),  # 409
        ("post", "/api/flags/{flag_id}/resolve", {"outcome": "false_alarm"}),
        ("get", "/api/conversations/{conversation_id}", None),
    ]
    assert {(path, method) for method, path, _ in calls} == set(documented)
    for method, path, body in calls:
        response = client.open(
            concrete(path, flag_id), method=method.upper(), json=body, headers=bearer(tokens["nurse"])
        )
        answers = document["paths"][path][method]["responses"]
        assert str(response.status_code) in answers, (method, path, response.status_code)
        schema = answers[str(response.status_code)]["content"]["application/json"]["schema"]
        _validate(document, schema, response.get_json())
