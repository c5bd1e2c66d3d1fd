"""The resident's web chat page: `GET /` (the default tenant) and `GET /t/{tenant}/`.

Server-rendered with jinja2 and light vanilla JS (no build step); the page talks to the JSON API (/api/v1). Its
configuration travels in a JSON block, not inline script, so a strict Content-Security-Policy can forbid inline code.
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from config.tenancy import Tenant
from madoguchi.api.errors import PoliteErrorRoute
from madoguchi.api.residents import TOKEN_HEADER
from madoguchi.api.schemas import MAX_TEXT_CHARS
from madoguchi.composition import Services, get_services
from madoguchi.api.i18n import chrome_strings, reply_strings, strings

ServicesDep = Annotated[Services, Depends(get_services)]
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
templates = Jinja2Templates(directory=TEMPLATES_DIR)

# How often the page asks for operator replies (the API is cheap: one indexed query).
POLL_SECONDS = 4
DEFAULT_RETENTION_DAYS = 90
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)

router = APIRouter(route_class=PoliteErrorRoute, include_in_schema=False)


def _secure(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def not_found_page(request: Request, tenant_id: str) -> Response:
    s = strings("ja")
    return _secure(templates.TemplateResponse(request, "not_found.html", {
        "s": s, "message": s["not_found"].format(tenant=tenant_id)}, status_code=404))


def page_config(tenant: Tenant) -> dict[str, Any]:
    """What chat.js needs: where the API is, limits, and the Japanese strings until a reply brings its own."""
    return {
        "tenant": tenant.id, "api": f"/api/v1/t/{tenant.id}", "token_header": TOKEN_HEADER,
        "max_chars": MAX_TEXT_CHARS, "poll_ms": POLL_SECONDS * 1000,
        "ui": reply_strings("ja"), "chrome": chrome_strings(), "page": chrome_strings()["ja"],
    }


@router.get("/")
def home(services: ServicesDep) -> Response:
    return RedirectResponse(f"/t/{services.settings.default_tenant}/", status_code=307)


@router.get("/t/{tenant_id}")
def tenant_without_slash(tenant_id: str) -> Response:
    return RedirectResponse(f"/t/{tenant_id}/", status_code=307)


@router.get("/t/{tenant_id}/", response_class=HTMLResponse)
def chat_page(request: Request, tenant_id: str, services: ServicesDep) -> Response:
    tenant = services.tenants.get(tenant_id)
    if tenant is None:
        return not_found_page(request, tenant_id)
    s = strings("ja")
    days = tenant.get("retention_days", DEFAULT_RETENTION_DAYS)
    return _secure(templates.TemplateResponse(request, "chat.html", {
        "s": s, "tenant": tenant, "contact": tenant.contact or {},
        "title": s["page_title"].format(tenant=tenant.display_name),
        "heading": s["heading"].format(tenant=tenant.display_name),
        "notice": s["notice"].format(days=days), "hint": s["input_hint"].format(max_chars=MAX_TEXT_CHARS),
        "max_chars": MAX_TEXT_CHARS, "config": page_config(tenant),
        "transparency_url": f"/t/{tenant.id}/transparency",
    }))
