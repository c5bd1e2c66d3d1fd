"""Fake provider APIs on loopback: LINE Messaging API, Twilio REST (Messages) and Slack Web API.

Each fake is a real HTTP server in a thread. It records every call and answers the way the provider does in the
cases our adapters rely on (LINE's 409 for a repeated X-Line-Retry-Key, 400 for a used reply token, 401 for a wrong
token), so the adapters are exercised through their real SDK clients.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from collections.abc import Callable
from urllib.parse import parse_qsl


@dataclass
class RecordedCall:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))


@dataclass
class Reply:
    status: int
    body: Any = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # the default backlog of 5 resets connections when 50 clients arrive at once


class FakeApiServer:
    """A loopback HTTP server dispatching POSTs to `handle(call) -> Reply`; subclasses implement `handle`."""

    def __init__(self) -> None:
        self.calls: list[RecordedCall] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeApiServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls_to(self, path: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.path.split("?")[0] == path]

    def handle(self, call: RecordedCall) -> Reply:  # pragma: no cover - overridden
        raise NotImplementedError

    def _dispatch(self, call: RecordedCall) -> Reply:
        with self._lock:  # one call at a time: the fakes' state (used keys, tokens) stays consistent
            reply = self.handle(call)
            call.status = reply.status
            self.calls.append(call)
            return reply

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length") or 0)
                call = RecordedCall("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                                    self.rfile.read(length))
                reply = fake._dispatch(call)
                payload = json.dumps(reply.body).encode()
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        return Handler


class FakeLineApi(FakeApiServer):
    """LINE Messaging API: /v2/bot/message/reply and /push, with single-use reply tokens and retry-key dedupe."""

    def __init__(self, access_token: str = "line-token") -> None:
        super().__init__()
        self.access_token = access_token
        self.live_reply_tokens: set[str] = set()
        self.accepted_retry_keys: dict[str, str] = {}  # retry key -> accepted request id
        self.delivered: list[dict[str, Any]] = []  # each accepted request body, in order

    def issue_reply_token(self) -> str:
        token = uuid.uuid4().hex
        self.live_reply_tokens.add(token)
        return token

    def handle(self, call: RecordedCall) -> Reply:
        if call.headers.get("authorization") != f"Bearer {self.access_token}":
            return Reply(401, {"message": "Authentication failed"})
        if call.path == "/v2/bot/message/reply":
            return self._reply(call.json())
        if call.path == "/v2/bot/message/push":
            return self._push(call.json(), call.headers.get("x-line-retry-key"))
        return Reply(404, {"message": "Not found"})

    def _reply(self, body: dict[str, Any]) -> Reply:
        token = body.get("replyToken")
        if token not in self.live_reply_tokens:
            return Reply(400, {"message": "Invalid reply token"})
        self.live_reply_tokens.discard(token)
        self.delivered.append(body)
        return Reply(200, {"sentMessages": [{"id": uuid.uuid4().hex}]})

    def _push(self, body: dict[str, Any], retry_key: str | None) -> Reply:
        if retry_key is not None:
            _check_uuid(retry_key)
            if retry_key in self.accepted_retry_keys:
                # LINE answers a repeated retry key with 409 and the id of the request it accepted first.
                accepted = self.accepted_retry_keys[retry_key]
                return Reply(409, {"message": "The retry key is already accepted",
                                   "sentMessages": []}, {"x-line-accepted-request-id": accepted})
            self.accepted_retry_keys[retry_key] = str(uuid.uuid4())
        self.delivered.append(body)
        return Reply(200, {"sentMessages": [{"id": uuid.uuid4().hex}]})


def _check_uuid(value: str) -> None:
    uuid.UUID(value)  # LINE rejects a retry key that is not a UUID; a bad key here fails the test loudly


class FakeTwilioApi(FakeApiServer):
    """Twilio REST: POST /2010-04-01/Accounts/{sid}/Messages.json with HTTP basic auth."""

    def __init__(self, account_sid: str = "AC" + "0" * 32, auth_token: str = "twilio-token") -> None:
        super().__init__()
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[dict[str, str]] = []

    def handle(self, call: RecordedCall) -> Reply:
        expected = base64.b64encode(f"{self.account_sid}:{self.auth_token}".encode()).decode()
        if call.headers.get("authorization") != f"Basic {expected}":
            return Reply(401, {"code": 20003, "message": "Authenticate", "status": 401})
        if call.path != f"/2010-04-01/Accounts/{self.account_sid}/Messages.json":
            return Reply(404, {"code": 20404, "message": "Not found", "status": 404})
        form = call.form()
        self.messages.append(form)
        sid = "SM" + uuid.uuid4().hex
        return Reply(201, {"sid": sid, "account_sid": self.account_sid, "to": form.get("To"),
                           "from": form.get("From"), "body": form.get("Body"), "status": "queued"})


class FakeSlackApi(FakeApiServer):
    """Slack Web API: chat.postMessage and chat.update under /api/, bearer-token auth, Slack-style ok/error."""

    def __init__(self, bot_token: str = "xoxb-test") -> None:
        super().__init__()
        self.bot_token = bot_token
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, ts) -> latest message
        self._next_ts = 1_700_000_000

    def handle(self, call: RecordedCall) -> Reply:
        if call.headers.get("authorization") != f"Bearer {self.bot_token}":
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        body = call.json() if "json" in call.headers.get("content-type", "") else call.form()
        handlers: dict[str, Callable[[dict[str, Any]], Reply]] = {
            "/api/chat.postMessage": self._post, "/api/chat.update": self._update}
        handler = handlers.get(call.path)
        return handler(body) if handler else Reply(200, {"ok": False, "error": "unknown_method"})

    def _post(self, body: dict[str, Any]) -> Reply:
        self._next_ts += 1
        ts = f"{self._next_ts}.000100"
        self.messages[(body["channel"], ts)] = body
        return Reply(200, {"ok": True, "channel": body["channel"], "ts": ts, "message": body})

    def _update(self, body: dict[str, Any]) -> Reply:
        key = (body["channel"], body["ts"])
        if key not in self.messages:
            return Reply(200, {"ok": False, "error": "message_not_found"})
        self.messages[key] = body
        return Reply(200, {"ok": True, "channel": body["channel"], "ts": body["ts"]})


def line_signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def slack_signature(secret: str, timestamp: int, body: bytes) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
