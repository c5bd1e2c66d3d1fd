"""The API's documentation pages (/docs Swagger UI, /redoc), with a Content-Security-Policy of their own.

FastAPI's pages load their scripts and styles from a CDN and start Swagger UI with one inline script. That script
gets a fresh nonce per response, so the policy can name the CDN and that one script and nothing else; like every
page, the documentation is never framed (frame-ancestors 'none').
"""
from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

CDN = "https://cdn.jsdelivr.net"
ICON_HOST = "https://fastapi.tiangolo.com"
FONTS = "https://fonts.googleapis.com https://fonts.gstatic.com"
OPENAPI_URL = "/openapi.json"

router = APIRouter(include_in_schema=False)


def docs_policy(nonce: str) -> str:
    return (f"default-src 'none'; script-src {CDN} 'nonce-{nonce}'; style-src {CDN} {FONTS} 'unsafe-inline'; "
            f"font-src {FONTS}; img-src 'self' data: {ICON_HOST} {CDN}; connect-src 'self'; worker-src blob:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'")


def _with_policy(page: HTMLResponse) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
    return HTMLResponse(html, headers={"Content-Security-Policy": docs_policy(nonce)})


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    return _with_policy(get_swagger_ui_html(openapi_url=OPENAPI_URL, title=f"{request.app.title} — API"))


@router.get("/redoc")
def redoc(request: Request) -> HTMLResponse:
    return _with_policy(get_redoc_html(openapi_url=OPENAPI_URL, title=f"{request.app.title} — API"))
