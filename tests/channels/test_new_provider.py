"""A new provider is one connector module plus its name in ``bot.channel_names``.

The toy Messenger connector below is a whole module's worth of code: name, credentials, parse
with a signature check, and send. Nothing else in the code base names it, yet it is in the
registry and the credentials file, its variables reach it through the settings, its
conversation ids are accepted, staff replies to it go out through its own ``deliver``, and
patients on it can be enrolled for check-ins. The only other line a real provider needs, its
name in ``bot.channel_names.PROVIDER_CHANNELS``, is stood in for by ``monkeypatch``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from datetime import date
from types import SimpleNamespace
from typing import Any, Iterator, List, Mapping, Tuple, Type

import pytest

from bot import channel_names
from bot.channels.config import connectors, credentials_for, enabled_channels
from bot.channels.dispatch import Dispatcher, Inbound
from bot.channels.http import Delivery, RequestError
from bot.channels.provider import ProviderInput, ProviderRequest, provider_variables
from bot.checkins.chat import reachable_channel
from bot.checkins.enrolment import EnrolmentRequest, enrol
from bot.settings import CheckinSettings, Settings
from bot.storage import make_engine, make_session_factory, outbound, utcnow
from bot.storage.checkins import Enrolment
from bot.storage.migrate import upgrade

ENV = {"AFTERCARE_MESSENGER_PAGE_TOKEN": "page-token", "AFTERCARE_MESSENGER_APP_SECRET": "app-secret"}


def define_messenger() -> Type[ProviderInput]:
    """The connector module a maintainer would write (``bot/channels/messenger.py``)."""

    class MessengerInput(ProviderInput):
        CHANNEL = "messenger"
        REQUIRED = provider_variables(CHANNEL, "page_token", "app_secret")
        MAX_TEXT = 2000
        sent: List[Mapping[str, Any]] = []

        def read(self, request: Any, body: bytes) -> List[Inbound]:
            expected = (
                "sha256=" + hmac.new(self.config["app_secret"].encode(), body, hashlib.sha256).hexdigest()
            )
            if not hmac.compare_digest(request.headers.get("X-Hub-Signature-256", ""), expected):
                raise RequestError(403, "bad signature")
            events = json.loads(body)["entry"][0]["messaging"]
            return [
                Inbound(e["message"]["mid"], e["sender"]["id"], text=e["message"]["text"]) for e in events
            ]

        def text_request(self, recipient: str, text: str) -> ProviderRequest:
            return {
                "recipient": recipient,
                "body": {"recipient": {"id": recipient}, "message": {"text": text}},
            }

        async def deliver(self, request: Mapping[str, Any]) -> Delivery:
            self.sent.append(request)
            return Delivery.SENT

    return MessengerInput


@pytest.fixture()
def messenger(monkeypatch: pytest.MonkeyPatch) -> Type[ProviderInput]:
    monkeypatch.setattr(channel_names, "PROVIDER_CHANNELS", (*channel_names.PROVIDER_CHANNELS, "messenger"))
    return define_messenger()


@pytest.fixture()
def database(tmp_path) -> Iterator[Tuple[str, Any]]:
    url = f"sqlite:///{tmp_path / 'aftercare.db'}"
    engine = make_engine(url)
    upgrade(engine)
    yield url, engine
    engine.dispose()


def test_an_unlisted_connector_is_refused_at_definition():
    with pytest.raises(TypeError, match="bot.channel_names"):
        define_messenger()


def test_the_connector_class_is_the_registry_entry_and_its_variables_reach_it(messenger, tmp_path):
    assert connectors()[-1] is messenger
    settings = Settings.from_env({"AFTERCARE_VAR_DIR": str(tmp_path), **ENV})
    assert dict(settings.channels.provider_values) == ENV
    assert enabled_channels(settings)[-1] == "messenger"
    assert credentials_for(settings)[messenger.class_path()] == {
        "page_token": "${AFTERCARE_MESSENGER_PAGE_TOKEN}",
        "app_secret": "${AFTERCARE_MESSENGER_APP_SECRET}",
    }
    assert "messenger" not in enabled_channels(Settings.from_env({"AFTERCARE_VAR_DIR": str(tmp_path)}))


def test_its_deliveries_are_authenticated_and_name_their_conversation(messenger):
    connector = messenger({"page_token": "p", "app_secret": "app-secret"})
    body = json.dumps(
        {"entry": [{"messaging": [{"sender": {"id": "2468"}, "message": {"mid": "m.1", "text": "hi"}}]}]}
    )
    signature = "sha256=" + hmac.new(b"app-secret", body.encode(), hashlib.sha256).hexdigest()
    [item] = connector.inbound(SimpleNamespace(headers={"X-Hub-Signature-256": signature}), body.encode())
    assert (item.sender_id, item.text) == ("2468", "hi")
    with pytest.raises(RequestError):
        connector.inbound(SimpleNamespace(headers={"X-Hub-Signature-256": "sha256=0"}), body.encode())
    assert outbound.channel_of("messenger:2468") == "messenger"
    assert reachable_channel("messenger:2468") == "messenger"


def test_a_staff_reply_goes_out_through_its_own_deliver_once(messenger, database):
    url, engine = database
    with make_session_factory(engine).begin() as session:
        row = outbound.queue_outbound(
            session, conversation_id="messenger:2468", kind="staff", text="From the clinic", key="k1"
        )
        row_id = row.id
    connector = messenger({"page_token": "p", "app_secret": "s"})
    connector.dispatcher = Dispatcher("messenger", database_url=url, sender=connector, settings=Settings())
    messenger.sent.clear()
    asyncio.run(connector.dispatcher.send_outbound())
    asyncio.run(connector.dispatcher.send_outbound())

    assert [call["body"] for call in messenger.sent] == [
        {"recipient": {"id": "2468"}, "message": {"text": "From the clinic"}}
    ]
    with make_session_factory(engine).begin() as session:
        assert session.get(outbound.OutboundMessage, row_id).status == outbound.STATUS_SENT


def test_a_patient_on_it_can_be_enrolled_for_check_ins(messenger, database):
    _, engine = database
    with make_session_factory(engine).begin() as session:
        enrolment = enrol(
            session=session,
            request=EnrolmentRequest("messenger", "2468", None, date(2026, 12, 1)),
            check_in_days=(1, 3),
            settings=CheckinSettings(),
            actor="staff:a",
            now=utcnow(),
        )
        enrolment_id = enrolment.id
    with make_session_factory(engine).begin() as session:
        stored = session.get(Enrolment, enrolment_id)
        assert (stored.channel, stored.conversation_id) == ("messenger", "messenger:2468")
        assert len(stored.checkins) == 2
