"""What routes declare in the OpenAPI document besides their success, so the document says what they really return
(tests/web/test_openapi_conformance.py calls every operation and checks status codes, content types and bodies).

    @router.post(..., responses=json_errors(400, 401, 404))      errors as {"detail": "…"}
    APIRouter(responses=html_pages(404))                         pages: text/html, their errors too
"""
from __future__ import annotations

from typing import Any

from madoguchi.api.schemas import ErrorOut

WHY = {
    400: "the body is not what the content type says (unreadable JSON, a malformed provider payload)",
    401: "no credentials: a missing signature, token or session",
    403: "wrong credentials: a signature that does not match, a role that may not do this",
    404: "unknown tenant, channel off for the tenant, or nothing of that id for this caller",
    413: "the body is larger than this route accepts (refused before it is read)",
    415: "a content type this route does not read",
    422: "a field breaks its rule: `detail` names the field and the rule, never the value",
    429: "rate limited: a polite reply in `detail`, and Retry-After",
    500: "an unexpected failure: a polite reply, logged without the resident's words",
    503: "not ready or still busy: try again shortly",
}
# Every request with a body can be refused for its size and its content type (madoguchi/web/hardening.py).
BODY_ERRORS = (400, 413)


def json_errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": ErrorOut, "description": WHY[code]} for code in codes}


def html_pages(*codes: int) -> dict[int | str, dict[str, Any]]:
    """A page answers text/html, its refusals too (a sign-in page, a plain error page)."""
    page = {200: {"content": {"text/html": {}}, "description": "the page (or the sign-in page it sends you to)"}}
    return {**page, **{code: {"content": {"text/html": {}, "application/json": {}}, "description": WHY[code]}
                       for code in codes}}


def media(media_type: str, description: str, status: int = 200) -> dict[int | str, dict[str, Any]]:
    return {status: {"content": {media_type: {}}, "description": description}}
