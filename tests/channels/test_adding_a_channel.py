"""Adding a channel is one module and one registry line: a provider defined here (the module) and put in
channels.registry.CHANNELS (the line) is configured from the environment, takes webhooks on the generic route,
gets its turns run and its replies sent in context, with no other code touched."""
from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, ClassVar

import pytest
from fastapi.testclient import TestClient

from channels import registry
from channels.base import Channel, MissingSignature, PayloadError, SignatureError
from channels.common import header
from channels.config import ChannelConfig
from config.settings import Settings
from config.tenancy import load_tenants
from core.messages import InboundEvent, OutboundMessage
from madoguchi.app import create_app
from tests.channels.wiring import counts, make_services, outbox_rows, running_loops, wait_until


# -- the module a new provider would add (channels/demo.py) -------------------------------------------------------

class DemoChannel(Channel):
    """A chat provider that signs requests with a shared token and threads replies under the message id."""

    name: ClassVar[str] = "demo"
    replies_in_context: ClassVar[bool] = True
    secret_keys: ClassVar[frozenset[str]] = frozenset({"token"})

    def __init__(self, tenant: str, token: str) -> None:
        self.tenant, self.token = tenant, token
        self.sent: list[OutboundMessage] = []
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: ChannelConfig, settings: Settings) -> DemoChannel:
        (token,) = config.require("token")
        return cls(config.tenant.id, token)

    @classmethod
    def with_reply_context(cls, message: OutboundMessage, event: Mapping[str, Any]) -> OutboundMessage:
        return replace(message, meta={**message.meta, "thread": (event.get("meta") or {}).get("message_id")})

    def verify(self, raw: bytes, headers: Mapping[str, str]) -> None:
        given = header(headers, "X-Demo-Token")
        if not given:
            raise MissingSignature("missing X-Demo-Token")
        if given != self.token:
            raise SignatureError("X-Demo-Token does not match")

    def parse(self, raw: bytes, headers: Mapping[str, str]) -> list[InboundEvent]:
        try:
            body = json.loads(raw)
        except ValueError:
            raise PayloadError("not JSON") from None
        return [InboundEvent(channel=self.name, external_id=body["id"], tenant=self.tenant, sender=body["from"],
                             text=body["text"], meta={"message_id": body["id"]})]

    def send(self, message: OutboundMessage) -> None:
        with self._lock:
            self.sent.append(message)


# -- and the one registry line -------------------------------------------------------------------------------------

@pytest.fixture
def demo(monkeypatch: pytest.MonkeyPatch, db: Any, tmp_path: Any) -> tuple[Any, DemoChannel]:
    monkeypatch.setitem(registry.CHANNELS, DemoChannel.name, DemoChannel)
    settings = Settings(data_dir=tmp_path / "var")
    tenant = load_tenants(settings.tenants_dir)["tokyo"]
    built = registry.build_tenant_channels(tenant, {"MADOGUCHI_TOKYO_DEMO_TOKEN": "demo-token"}, settings)
    services = make_services(db, tmp_path, channels={"tokyo": built})
    return services, built.get("demo")


def post(client: TestClient, body: dict[str, str], token: str | None = "demo-token") -> Any:
    headers = {"X-Demo-Token": token} if token else {}
    return client.post("/webhooks/demo/tokyo", content=json.dumps(body, ensure_ascii=False), headers=headers)


def test_the_new_channel_is_configured_from_the_environment(demo) -> None:
    services, adapter = demo
    assert isinstance(adapter, DemoChannel) and adapter.token == "demo-token"
    assert services.channels["tokyo"].off.get("demo") is None


def test_a_message_is_recorded_answered_once_and_sent_in_its_thread(demo) -> None:
    services, adapter = demo
    question = {"id": "m-1", "from": "user-7", "text": "粗大ごみの出し方を教えてください"}
    with TestClient(create_app(services, start_background=False)) as client, running_loops(services):
        assert post(client, question).json() == {"received": 1, "new": 1}
        assert post(client, question).json() == {"received": 1, "new": 0}  # a redelivery
        wait_until(lambda: adapter.sent, what="the demo reply")
    (reply,) = adapter.sent
    assert reply.recipient == "user-7" and "粗大ごみ" in reply.text
    assert reply.meta["thread"] == "m-1"  # the reply context the channel asked for
    assert counts(services.db)["turns"] == 1
    assert [row.status for row in outbox_rows(services.db)] == ["sent"]


def test_the_generic_route_fails_closed_for_it(demo) -> None:
    services, _adapter = demo
    body = {"id": "m-2", "from": "user-7", "text": "こんにちは"}
    with TestClient(create_app(services, start_background=False)) as client:
        assert post(client, body, token=None).status_code == 401
        assert post(client, body, token="wrong").status_code == 403
        assert client.post("/webhooks/demo/tokyo", content=b"{", headers={"X-Demo-Token": "demo-token"}
                           ).status_code == 400
    assert counts(services.db)["inbound"] == 0
