"""What every response carries and what every request may weigh: two ASGI middlewares, installed by create_app().

SecurityHeaders, on every response (pages, JSON, CSV, /docs, errors, static files), unless the route set its own:
  Content-Security-Policy     scripts and styles from this origin only, frame-ancestors 'none' (never framed)
  X-Content-Type-Options      nosniff (a CSV or JSON body is never sniffed into HTML)
  X-Frame-Options             DENY (older browsers that ignore frame-ancestors)
  Referrer-Policy             same-origin (a resident's conversation URL never leaks to a cited site)
  Cache-Control               no-store on everything but /static: staff pages, transcripts and exports hold residents'
                              words and must not stay in a shared or browser cache
  Strict-Transport-Security   when the service is public on https (MADOGUCHI_PUBLIC_BASE_URL) or the request came
                              over https (a proxy's X-Forwarded-Proto, with uvicorn's --proxy-headers)

BodyLimit refuses a request body over its route's limit with 413 before the route reads it: at once from
Content-Length, or as soon as a chunked body passes the limit (the route never sees the rest). A signature is
therefore never computed over 20 MB of garbage. The limits are in BODY_LIMITS (the first matching prefix wins);
mail (the HTTP inbound-mail webhook and the SMTP endpoint) has its own, MADOGUCHI_MAX_MAIL_BYTES.
"""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.exceptions import HTTPException

from config.settings import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
HSTS = "max-age=31536000; includeSubDomains"
CACHEABLE_PREFIXES = ("/static/",)

KIB, MIB = 1024, 1024 * 1024
# (path prefix, bytes): the first that matches the request path wins. Mail is set from the settings.
BODY_LIMITS: tuple[tuple[str, int], ...] = (
    ("/webhooks/line/", 1 * MIB),  # LINE batches events; real bodies are a few KiB
    ("/webhooks/twilio/", 64 * KIB),  # form posts of a call's state
    ("/slack/", 64 * KIB),  # a button's payload
    ("/console/", 64 * KIB),  # forms: a reply, a note, a sign-in
    ("/t/", 64 * KIB),  # the chat API, Rasa REST and review forms
    ("/api/", 64 * KIB),
    ("/webhooks/rest/", 64 * KIB),
)
DEFAULT_BODY_LIMIT = 64 * KIB


def security_headers(path: str, *, https: bool) -> list[tuple[bytes, bytes]]:
    headers = [
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"same-origin"),
    ]
    if not path.startswith(CACHEABLE_PREFIXES):
        headers.append((b"cache-control", b"no-store"))
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


class SecurityHeaders:
    """Adds security_headers() to every HTTP response that does not already carry each one."""

    def __init__(self, app: ASGIApp, *, public_https: bool) -> None:
        self.app = app
        self.public_https = public_https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = self.public_https or scope.get("scheme") == "https"
        defaults = security_headers(scope.get("path", ""), https=https)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((name, value) for name, value in defaults if name not in present)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def body_limit_for(path: str, mail_limit: int) -> int:
    if path.startswith("/webhooks/email/"):
        return mail_limit
    return next((limit for prefix, limit in BODY_LIMITS if path.startswith(prefix)), DEFAULT_BODY_LIMIT)


class _TooLarge(HTTPException):
    """Raised from receive(): FastAPI lets an HTTPException through its body parsing, so the route answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large(limit))


def _too_large(limit: int) -> str:
    return f"request body too large: at most {limit} bytes here"


class BodyLimit:
    """413 for a body over its route's limit, decided before the route reads it."""

    def __init__(self, app: ASGIApp, *, mail_limit: int) -> None:
        self.app = app
        self.mail_limit = mail_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit_for(scope.get("path", ""), self.mail_limit)
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, limit)
            return
        started = False
        seen = 0

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await _refuse(send, limit)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _refuse(send: Send, limit: int) -> None:
    body = json.dumps({"detail": _too_large(limit)}).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def install(app: Any, settings: Settings) -> None:
    """Outermost first: headers go on every response, the 413 included."""
    app.add_middleware(BodyLimit, mail_limit=settings.max_mail_bytes)
    app.add_middleware(SecurityHeaders, public_https=settings.public_base_url.startswith("https://"))
