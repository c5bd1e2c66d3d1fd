"""Unexpected failures become a polite reply (status 500) and a log line that carries no resident text.

Routers of this area use `PoliteErrorRoute` as their route class, so the rule holds for every endpoint without
touching the application shell. HTTPException and validation errors pass through untouched (they are answers).
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
            except (HTTPException, RequestValidationError):
                raise
            except Exception as error:  # the last line of defence: the resident gets a reply whatever failed
                log.error("%s %s failed: %s", request.method, path, describe_failure(error))
                return polite_error_response(request)

        return handle


def polite_error_response(request: Request) -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": POLITE_ERROR}, status_code=500)
    return HTMLResponse(f"<!doctype html><html lang=\"ja\"><meta charset=\"utf-8\"><title>エラー</title>"
                        f"<p>{POLITE_ERROR}</p></html>", status_code=500)
