"""What an SRE asks of a running instance: is it alive, may it take traffic, and its figures.

    GET /healthz   liveness: 200 {"status": "alive"} while the process serves requests (no dependency checked, so a
                   database outage does not get every instance restarted)
    GET /readyz    readiness: 200 {"status": "ready", "checks": {…}} or 503 {"status": "not_ready", …} naming the
                   check that failed: the database answers; every tenant's index is loaded (with its version and
                   age); this process's background loops are alive; the outbox is not stuck (no reply due for
                   longer than `outbox_stuck_after_s`)
    GET /metrics   Prometheus text format

Every request gets a request id (the caller's `X-Request-ID` when it is a plain token, else a new one), returned
in `X-Request-ID`, carried by every log line written while the request runs (core/log_context.py), and one log line
per request: method, path (never the query string), status, milliseconds.

Metrics, and why each instance exposes its own: web instances and `madoguchi channels worker` processes run on
several hosts, where the client's multiprocess mode (one directory shared by forked processes of one host) cannot
reach; so every process serves its own counters (turns, step latencies, webhook rejects, sends — Prometheus
scrapes each and sums them), and the figures that live in the shared database (queue depth, unclaimed risk
tickets, SLA breaches, inbox and outbox backlog, kill switches) are read from it at scrape time, the same from
whichever instance is asked (aggregate those with max, not sum). Index age and version are per instance: each
loads its own.
"""
from __future__ import annotations

import calendar
import logging
import re
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from pydantic_settings import BaseSettings, SettingsConfigDict

from conversations.switches import switch_board
from core.log_context import log_context
from knowledge.knowledge_base import IndexMissing
from madoguchi.api.responses import media
from madoguchi.composition import Services, get_services
from storage import StorageError, utcnow
from storage import operations as ops

router = APIRouter(tags=["operations"])
log = logging.getLogger("madoguchi.requests")


class OperationsSettings(BaseSettings):
    """Environment: MADOGUCHI_OUTBOX_STUCK_AFTER_S=300."""

    model_config = SettingsConfigDict(env_prefix="MADOGUCHI_", extra="ignore")

    outbox_stuck_after_s: float = 300.0  # a reply due this long and not sent: the senders are not keeping up


# -- liveness and readiness --------------------------------------------------------------------------------------

@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "alive"}


@router.get("/readyz", responses=media("application/json", "not ready: the body names each check and its state", 503))
def readyz(request: Request, services: Services = Depends(get_services)) -> JSONResponse:
    threads: list[threading.Thread] = getattr(request.app.state, "background_threads", [])
    checks = readiness(services, threads, OperationsSettings())
    ready = all(check["ok"] for check in checks.values())
    return JSONResponse({"status": "ready" if ready else "not_ready", "checks": checks},
                        status_code=200 if ready else 503, headers={"Cache-Control": "no-store"})


def readiness(services: Services, threads: list[threading.Thread], settings: OperationsSettings) -> dict[str, Any]:
    database = database_check(services)
    return {
        "database": database,
        "indexes": index_check(services),
        "workers": workers_check(threads),
        "outbox": outbox_check(services, settings) if database["ok"] else {"ok": False, "error": "no database"},
    }


def database_check(services: Services) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with services.db.read() as conn:
            ops.ping(conn)
    except StorageError as exc:
        return {"ok": False, "error": type(exc).__name__}
    return {"ok": True, "ms": round((time.perf_counter() - started) * 1e3, 1)}


def index_check(services: Services) -> dict[str, Any]:
    tenants = {tenant_id: index_status(services, tenant_id) for tenant_id in sorted(services.tenants)}
    return {"ok": all(t["ok"] for t in tenants.values()), "tenants": tenants}


def index_status(services: Services, tenant_id: str) -> dict[str, Any]:
    """Loads the index if this process has not yet: readiness is also the warm-up."""
    try:
        index = services.knowledge.index(tenant_id)
    except IndexMissing:
        return {"ok": False, "error": "no index yet (building, or run `madoguchi ingest`)"}
    manifest = index.manifest
    return {"ok": True, "version": index.version, "documents": manifest.get("documents"),
            "built_at": manifest.get("built_at"), "age_seconds": index_age_seconds(manifest)}


def index_age_seconds(manifest: dict[str, Any]) -> float | None:
    built = manifest.get("built_at")
    try:
        return round(time.time() - calendar.timegm(time.strptime(built, "%Y-%m-%dT%H:%M:%SZ")), 1)
    except (TypeError, ValueError):
        return None


def workers_check(threads: list[threading.Thread]) -> dict[str, Any]:
    """This process's loops (inbox workers, outbox senders, SLA watcher …); an instance that runs none (every loop
    in separate worker processes) is ready with an empty list."""
    alive = {thread.name: thread.is_alive() for thread in threads}
    return {"ok": all(alive.values()), "threads": alive}


def outbox_check(services: Services, settings: OperationsSettings) -> dict[str, Any]:
    try:
        with services.db.read() as conn:
            oldest = ops.oldest_due_outbox(conn)
    except StorageError as exc:
        return {"ok": False, "error": type(exc).__name__}
    waited = (utcnow() - oldest).total_seconds() if oldest is not None else 0.0
    return {"ok": waited <= settings.outbox_stuck_after_s, "oldest_due_seconds": round(max(waited, 0.0), 1),
            "stuck_after_seconds": settings.outbox_stuck_after_s}


# -- metrics -----------------------------------------------------------------------------------------------------

@router.get("/metrics", response_class=PlainTextResponse)  # the Prometheus text format
def metrics(services: Services = Depends(get_services)) -> Response:
    scrape = CollectorRegistry()
    scrape.register(ServiceCollector(services))
    body = generate_latest(REGISTRY) + generate_latest(scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST, headers={"Cache-Control": "no-store"})


class ServiceCollector(Collector):
    """Figures read at scrape time: the shared database's queues and this instance's indexes."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily("madoguchi_database_up", "1 when the database answered this scrape")
        try:
            with self.services.db.read() as conn:
                families = list(self._from_database(conn))
        except StorageError:
            families = []
        up.add_metric([], 1.0 if families else 0.0)
        yield up
        yield from families
        yield from self._indexes()

    def _from_database(self, conn: Any) -> Iterator[GaugeMetricFamily]:
        yield _gauge("madoguchi_inbox_backlog", "Inbound events without a finished turn",
                     ["tenant", "channel", "status"], ops.inbox_backlog(conn))
        yield _gauge("madoguchi_outbox_backlog", "Replies not sent ('failed': given up after the last attempt)",
                     ["tenant", "channel", "status"], ops.outbox_backlog(conn))
        yield _age("madoguchi_inbox_oldest_wait_seconds", "How long the oldest unhandled inbound event has waited",
                   ops.oldest_waiting_inbound(conn))
        yield _age("madoguchi_outbox_oldest_due_seconds", "How long the oldest due reply has waited to be sent",
                   ops.oldest_due_outbox(conn))
        yield _gauge("madoguchi_escalation_queue_depth", "Open hand-overs by state", ["tenant", "state"],
                     ops.escalation_queue_depth(conn))
        yield _gauge("madoguchi_escalations_unclaimed_risk", "Risk-tier hand-overs nobody has claimed",
                     ["tenant", "risk"], ops.unclaimed_risk_escalations(conn))
        yield _gauge("madoguchi_sla_breaches", "Open hand-overs past a deadline (first_response, resolve)",
                     ["tenant", "deadline"], ops.sla_breaches(conn))
        board = switch_board(conn, list(self.services.tenants.values()))
        yield _gauge("madoguchi_switch_off", "1 while a kill switch is off (answering, channel:<name>)",
                     ["tenant", "switch"], [(s.tenant, s.name, 0 if s.on else 1) for s in board])

    def _indexes(self) -> Iterator[GaugeMetricFamily]:
        info = GaugeMetricFamily("madoguchi_index_info", "The index version each tenant answers from",
                                 labels=["tenant", "version"])
        age = GaugeMetricFamily("madoguchi_index_age_seconds", "Seconds since the tenant's index was built",
                                labels=["tenant"])
        documents = GaugeMetricFamily("madoguchi_index_documents", "Documents in the tenant's index",
                                      labels=["tenant"])
        for tenant_id in sorted(self.services.tenants):
            status = index_status(self.services, tenant_id)
            if not status["ok"]:
                continue
            info.add_metric([tenant_id, status["version"]], 1.0)
            documents.add_metric([tenant_id], float(status["documents"] or 0))
            if status["age_seconds"] is not None:
                age.add_metric([tenant_id], status["age_seconds"])
        yield from (info, age, documents)


def _gauge(name: str, documentation: str, labels: list[str], rows: list[tuple]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for *values, number in rows:
        family.add_metric([str(v) for v in values], float(number))
    return family


def _age(name: str, documentation: str, since: Any) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation)
    family.add_metric([], max((utcnow() - since).total_seconds(), 0.0) if since is not None else 0.0)
    return family


# -- request ids -------------------------------------------------------------------------------------------------

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIds:
    """Pure ASGI middleware (the id must be in the context before any other middleware or route logs)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        started, status = time.perf_counter(), [500]

        async def send_with_id(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", request_id.encode())]
            await send(message)

        with log_context(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                log.info("%s %s %s", scope.get("method"), scope.get("path"), status[0],
                         extra={"status": status[0], "ms": round((time.perf_counter() - started) * 1e3, 1)})


def _incoming_id(scope: dict[str, Any]) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _REQUEST_ID.match(text) else None
    return None
