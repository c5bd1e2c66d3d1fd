"""The FastAPI application: web chat, JSON API, operator console, channel webhooks, transparency pages.

`madoguchi serve` (`make run`) runs `create_app()` with the embedded defaults (SQLite and the index on local disk).
One APIRouter per area; background loops (inbox worker, outbox sender, SLA watcher, retention) start with the app.
"""
from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from conversations.leases import stop_gracefully
from governance.logging import install_redacting_logging
from madoguchi.api.rasa_rest import router as rasa_rest
from madoguchi.api.v1 import router as api_v1
from madoguchi.background import start_all
from madoguchi.composition import Services, build_services
from madoguchi.web import docs, hardening
from madoguchi.web.chat import router as chat
from madoguchi.web.console.routes import router as console
from madoguchi.web.console.switches import router as console_switches
from madoguchi.web.governance.routes import router as governance
from madoguchi.web.operations import RequestIds, router as operations
from madoguchi.web.slack import router as slack
from madoguchi.web.static import STATIC_DIR
from madoguchi.web.webhooks import router as webhooks

ROUTERS: tuple[APIRouter, ...] = (operations, api_v1, rasa_rest, webhooks, console, console_switches, slack, governance,
                                  chat, docs.router)


def create_app(services: Services | None = None, *, start_background: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_redacting_logging()  # after the server configured its handlers, so they are covered too
        stop = threading.Event()
        app.state.stop = stop
        threads = start_all(app.state.services, stop) if start_background else []
        app.state.background_threads = threads  # /readyz checks they are alive
        yield
        stop_gracefully(app.state.services, stop, threads)

    app = FastAPI(title="madoguchi 窓口", version="0.1.0", lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Municipal contact-center assistant: answers from official documents, hands over to people.")
    app.state.services = services or build_services()
    hardening.install(app, app.state.services.settings)
    app.add_middleware(RequestIds)  # added last: the outermost, so every other layer logs with the request id
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in ROUTERS:
        app.include_router(router)
    return app
