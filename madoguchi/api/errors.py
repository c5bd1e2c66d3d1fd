"""Unexpected failures become a polite reply (status 500) and a log line that carries no resident text.

Routers of this area use `PoliteErrorRoute` as their route class, so the rule holds for every endpoint without
touching the application shell. HTTPException passes through untouched (it is an answer). A request that fails
validation gets 422 with the declared error shape, `{"detail": "<field>: <rule>"}`: one plain sentence per field
that names the rule broken and never echoes the input (pydantic's own body quotes the resident's text back).
"""
from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from governance.pii import redact
from madoguchi.api.i18n import text

log = logging.getLogger("madoguchi.web.errors")

POLITE_ERROR = text("error_server")


def describe_failure(error: BaseException) -> str:
    """Where it failed and what kind of error, never the resident's words.

    An exception's message may quote its input (a ValueError echoing the text), so only the type and the code
    locations are kept, plus the message after personal-data redaction for the developer's first clue.
    """
    frames = "".join(traceback.format_tb(error.__traceback__))
    return f"{type(error).__name__}: {redact(str(error))[:200]}\n{frames}"


class PoliteErrorRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Any]:
        handler = super().get_route_handler()
        path = self.path

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException:
                raise
            except RequestValidationError as error:
                return JSONResponse({"detail": validation_detail(error)}, status_code=422)
            except Exception as error:  # the last line of defence: the resident gets a reply whatever failed
                log.error("%s %s failed: %s", request.method, path, describe_failure(error))
                return polite_error_response(request)

        return handle


def validation_detail(error: RequestValidationError) -> str:
    """「client_message_id: String should match pattern '…'」: where and which rule, without the rejected value."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body" and not isinstance(part, int))
        problems.append(f"{where or 'body'}: {item.get('msg', 'invalid')}")
    return "; ".join(problems) or "invalid request"


def polite_error_response(request: Request) -> Response:
    if request.url.path.startswith("/api/") or request.url.path.endswith("/webhooks/rest/webhook"):
        return JSONResponse({"detail": POLITE_ERROR}, status_code=500)
    return HTMLResponse(f"<!doctype html><html lang=\"ja\"><meta charset=\"utf-8\"><title>エラー</title>"
                        f"<p>{POLITE_ERROR}</p></html>", status_code=500)
