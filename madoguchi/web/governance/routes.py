"""Governance pages and endpoints.

  GET    /t/{tenant}/transparency[?turn=ID]        public: how the assistant works (and one answer's "why")
  GET    /t/{tenant}/insight[?days=30]             staff of the tenant: the dashboard; /insight.csv the aggregates
  GET    /insight[?days=30], /insight.csv          administrators: every tenant together
  GET    /t/{tenant}/review                        supervisors/admins: the review list and current corrections
  POST   /t/{tenant}/review/curated|right-source|outdated|outdated/clear|dismiss|curated/{id}/retire

Staff sign-in, sessions and CSRF are the web shell's (madoguchi/web/staff_auth.py): the console's cookie works
here. Another tenant's page answers 404 as if it did not exist. (A resident erases their own conversation through
the JSON API: DELETE /api/v1/t/{tenant}/conversations/{id}.)
"""
from __future__ import annotations

from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from channels.web import WebChannel
from config.tenancy import Tenant
from conversations.switches import switches_in_force
from governance import review
from governance.explain import REASON_WORDS
from governance.insight import Insight, InsightCache, build_insight, insight_csv
from governance.transparency import transparency_context
from madoguchi.api.responses import html_pages
from madoguchi.composition import Services, get_services
from madoguchi.web.governance.charts import horizontal_bars, stacked_columns
from madoguchi.web.governance.examples import example_replies
from madoguchi.web.hardening import bidi_safe
from madoguchi.web.staff_auth import Operator, checked_operator, page_operator
from madoguchi.web.staff_time import local_time, tenant_zone, zone_label

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=HERE / "templates")
# Residents' words on staff pages (review questions, insight topics): bidi controls are shown, never obeyed.
templates.env.finalize = bidi_safe
templates.env.filters["local_time"] = local_time
router = APIRouter(tags=["governance"], responses=html_pages(403, 404, 422))
NOTICES = {"curated": "回答を登録しました。", "right_source": "正しい出典を登録しました。",
           "outdated": "文書を止めました（再取り込みか解除まで使われません）。", "cleared": "解除しました。",
           "dismissed": "一覧から外しました。", "retired": "取り下げました。"}

CSV = {200: {"content": {"text/csv": {}, "text/html": {}}, "description": "the figures as CSV (or the sign-in page)"}}


def pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _tenant(services: Services, tenant_id: str) -> Tenant:
    tenant = services.tenants.get(tenant_id)
    if tenant is None:
        raise HTTPException(404, "not found")
    return tenant


def _staff_tenant(services: Services, operator: Operator, tenant_id: str) -> Tenant:
    tenant = _tenant(services, tenant_id)
    if operator.role != "admin" and not operator.may_see(tenant.id):
        raise HTTPException(404, "not found")
    return tenant


def _reviewer_tenant(services: Services, operator: Operator, tenant_id: str) -> Tenant:
    tenant = _staff_tenant(services, operator, tenant_id)
    if not operator.is_supervisor:
        raise HTTPException(403, "review is for supervisors and administrators")
    return tenant


# --- public ----------------------------------------------------------------------------------------------------

@router.get("/t/{tenant_id}/transparency", response_class=HTMLResponse)
def transparency_page(request: Request, tenant_id: str, turn: str | None = Query(None, max_length=64),
                      services: Services = Depends(get_services)) -> HTMLResponse:
    tenant = _tenant(services, tenant_id)
    context = transparency_context(services, tenant, turn)
    # The templates as a resident would read them, rendered with this tenant's running configuration.
    context["templates"] = example_replies(tenant, services.settings.tenants_dir)
    with services.db.read() as conn:
        context["switches"] = switches_in_force(conn, tenant, WebChannel.name)
    return templates.TemplateResponse(request, "transparency.html", context)


# --- insight ---------------------------------------------------------------------------------------------------

def _charts(insight: Insight) -> dict[str, Any]:
    return {
        "by_channel": stacked_columns(insight.days, insight.by_day_channel, title="経路別"),
        "by_outcome": stacked_columns(insight.days, insight.by_day_outcome, title="結果別"),
        "by_topic": stacked_columns(insight.days, insight.by_day_topic, title="話題別（出典の種類）"),
        "reasons": horizontal_bars(dict(insight.handover_reasons), title="引き継ぎの理由"),
        "channels": horizontal_bars(dict(insight.channels), title="経路"),
        "outcomes": horizontal_bars(dict(insight.outcomes), title="結果"),
        "topics": horizontal_bars(dict(insight.topics), title="話題"),
    }


def _insight_page(request: Request, insight: Insight, scope_label: str, csv_url: str,
                  review_url: str | None, tenant: Tenant | None = None) -> HTMLResponse:
    zone = tenant_zone(tenant)
    context = {"insight": insight, "scope_label": scope_label, "charts": _charts(insight), "pct": pct,
               "csv_url": csv_url, "review_url": review_url, "reason_words": REASON_WORDS, "zone": zone,
               "zone_label": zone_label(zone)}
    return templates.TemplateResponse(request, "insight.html", context)


def _csv(insight: Insight, name: str) -> PlainTextResponse:
    headers = {"Content-Disposition": f'attachment; filename="insight-{name}.csv"'}
    return PlainTextResponse(insight_csv(insight), media_type="text/csv; charset=utf-8", headers=headers)


def cached_insight(request: Request, services: Services, tenant_ids: list[str], days: int) -> Insight:
    """The dashboard's figures, built at most once a minute per (tenants, days) and per app."""
    cache = getattr(request.app.state, "insight_cache", None)
    if cache is None:
        cache = request.app.state.insight_cache = InsightCache()
    return cache.get((tuple(tenant_ids), days), lambda: build_insight(
        services.db, tenant_ids, embedder=services.embedder, days=days))


@router.get("/t/{tenant_id}/insight", response_class=HTMLResponse)
def insight_page(request: Request, tenant_id: str, days: int = Query(30, ge=1, le=366),
                 services: Services = Depends(get_services),
                 operator: Operator = Depends(page_operator)) -> HTMLResponse:
    tenant = _staff_tenant(services, operator, tenant_id)
    insight = cached_insight(request, services, [tenant.id], days)
    review_url = f"/t/{tenant.id}/review" if operator.is_supervisor else None
    return _insight_page(request, insight, tenant.display_name, f"/t/{tenant.id}/insight.csv?days={days}", review_url,
                         tenant)


@router.get("/t/{tenant_id}/insight.csv", responses=CSV)
def insight_export(request: Request, tenant_id: str, days: int = Query(30, ge=1, le=366),
                   services: Services = Depends(get_services),
                   operator: Operator = Depends(page_operator)) -> PlainTextResponse:
    tenant = _staff_tenant(services, operator, tenant_id)
    return _csv(cached_insight(request, services, [tenant.id], days), tenant.id)


def _admin(operator: Operator) -> None:
    if operator.role != "admin":
        raise HTTPException(403, "the cross-tenant view is for administrators")


@router.get("/insight", response_class=HTMLResponse)
def insight_all_page(request: Request, days: int = Query(30, ge=1, le=366), services: Services = Depends(get_services),
                     operator: Operator = Depends(page_operator)) -> HTMLResponse:
    if operator.role != "admin":
        return forbidden_page(request, "全自治体の傾向は管理者だけが見られます。")
    insight = cached_insight(request, services, sorted(services.tenants), days)
    return _insight_page(request, insight, "全自治体", f"/insight.csv?days={days}", None)


@router.get("/insight.csv", responses=CSV)
def insight_all_export(request: Request, days: int = Query(30, ge=1, le=366),
                       services: Services = Depends(get_services),
                       operator: Operator = Depends(page_operator)) -> PlainTextResponse:
    _admin(operator)
    return _csv(cached_insight(request, services, sorted(services.tenants), days), "all")


# --- review ----------------------------------------------------------------------------------------------------

@router.get("/t/{tenant_id}/review", response_class=HTMLResponse)
def review_page(request: Request, tenant_id: str, notice: str | None = None,
                services: Services = Depends(get_services),
                operator: Operator = Depends(page_operator)) -> HTMLResponse:
    tenant = _staff_tenant(services, operator, tenant_id)
    if not operator.is_supervisor:
        return forbidden_page(request, "レビュー一覧はスーパーバイザーと管理者だけが見られます。")
    zone = tenant_zone(tenant)
    context = {"tenant": tenant, "operator": operator, "notice": NOTICES.get(notice or ""), "zone": zone,
               "zone_label": zone_label(zone),
               "items": review.review_items(services.db, tenant),
               "corrections": review.corrections_overview(services.db, tenant.id)}
    return templates.TemplateResponse(request, "review.html", context)


def forbidden_page(request: Request, message: str) -> HTMLResponse:
    """A signed-in member of staff without the role: a page that says so, not a JSON error."""
    return templates.TemplateResponse(request, "forbidden.html", {"message": message}, status_code=403)


def _back(tenant: Tenant, notice: str) -> RedirectResponse:
    return RedirectResponse(f"/t/{tenant.id}/review?notice={notice}", status_code=303)


def _expiry(expires_on: str | None) -> datetime | None:
    """A date from the form means "valid through that day" (end of day, Japan time is within it)."""
    if not expires_on:
        return None
    day = datetime.strptime(expires_on, "%Y-%m-%d").date()
    return datetime.combine(day, time(23, 59, 59), tzinfo=UTC)


@router.post("/t/{tenant_id}/review/curated")
def post_curated(tenant_id: str, answer: str = Form(..., max_length=4000), turn_id: str | None = Form(None),
                 question: str | None = Form(None), doc_id: str | None = Form(None),
                 source_title: str | None = Form(None), source_url: str | None = Form(None),
                 expires_on: str | None = Form(None), services: Services = Depends(get_services),
                 operator: Operator = Depends(checked_operator)) -> RedirectResponse:
    tenant = _reviewer_tenant(services, operator, tenant_id)
    _write_curated(services, tenant, operator, answer=answer.strip() or None, turn_id=turn_id, question=question,
                   doc_id=doc_id or None, source_title=source_title or None, source_url=source_url or None,
                   expires_at=_expiry(expires_on))
    return _back(tenant, "curated")


def _write_curated(services: Services, tenant: Tenant, operator: Operator, **fields: Any) -> None:
    try:
        review.write_curated_answer(services.corrections, tenant, reviewer=operator.username, **fields)
    except (LookupError, ValueError) as exc:
        raise HTTPException(422, str(exc)) from exc


@router.post("/t/{tenant_id}/review/right-source")
def post_right_source(tenant_id: str, doc_id: str = Form(...), turn_id: str = Form(...),
                      services: Services = Depends(get_services),
                      operator: Operator = Depends(checked_operator)) -> RedirectResponse:
    tenant = _reviewer_tenant(services, operator, tenant_id)
    _write_curated(services, tenant, operator, doc_id=doc_id, turn_id=turn_id)
    return _back(tenant, "right_source")


@router.post("/t/{tenant_id}/review/outdated")
def post_outdated(tenant_id: str, doc_id: str = Form(...), reason: str | None = Form(None),
                  turn_id: str | None = Form(None), services: Services = Depends(get_services),
                  operator: Operator = Depends(checked_operator)) -> RedirectResponse:
    tenant = _reviewer_tenant(services, operator, tenant_id)
    review.flag_outdated(services.corrections, tenant, reviewer=operator.username, doc_id=doc_id, reason=reason,
                         turn_id=turn_id or None)
    return _back(tenant, "outdated")


@router.post("/t/{tenant_id}/review/outdated/clear")
def post_clear_outdated(tenant_id: str, doc_id: str = Form(...), services: Services = Depends(get_services),
                        operator: Operator = Depends(checked_operator)) -> RedirectResponse:
    tenant = _reviewer_tenant(services, operator, tenant_id)
    review.clear_outdated(services.corrections, tenant, reviewer=operator.username, doc_id=doc_id)
    return _back(tenant, "cleared")


@router.post("/t/{tenant_id}/review/dismiss")
def post_dismiss(tenant_id: str, turn_id: str = Form(...), services: Services = Depends(get_services),
                 operator: Operator = Depends(checked_operator)) -> RedirectResponse:
    tenant = _reviewer_tenant(services, operator, tenant_id)
    try:
        review.dismiss(services.db, tenant, reviewer=operator.username, turn_id=turn_id)
    except LookupError as exc:
        raise HTTPException(404, "not found") from exc
    return _back(tenant, "dismissed")


@router.post("/t/{tenant_id}/review/curated/{curated_id}/retire")
def post_retire(tenant_id: str, curated_id: str, services: Services = Depends(get_services),
                operator: Operator = Depends(checked_operator)) -> RedirectResponse:
    tenant = _reviewer_tenant(services, operator, tenant_id)
    review.retire_curated_answer(services.corrections, tenant, reviewer=operator.username, curated_id=curated_id)
    return _back(tenant, "retired")
