"""The FastAPI application: web chat, JSON API, operator console, channel webhooks, transparency pages.

`madoguchi serve` (`make run`) runs `create_app()` with the embedded defaults (SQLite and the index on local disk).
One APIRouter per area; background loops (inbox worker, outbox sender, SLA watcher, retention) start with the app.
"""
from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from madoguchi.composition import Services, build_services
from madoguchi.web.static import STATIC_DIR

log = logging.getLogger(__name__)


def _routers() -> list[Any]:
    from madoguchi.web.webhooks import router as webhooks
    from madoguchi.web.console.routes import router as console
    from madoguchi.web.governance.routes import router as governance
    from madoguchi.api.v1 import router as api_v1
    from madoguchi.web.chat import router as chat

    return [api_v1, webhooks, console, governance, chat]


def _background_starters() -> list[Any]:
    from madoguchi.web.webhooks import start_background as channel_loops
    from madoguchi.web.console.routes import start_background as escalation_loops
    from madoguchi.web.governance.routes import start_background as governance_loops

    return [channel_loops, escalation_loops, governance_loops]


def create_app(services: Services | None = None, *, start_background: bool = True) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        from governance.logging import install_redacting_logging

        install_redacting_logging()  # after the server configured its handlers, so they are covered too
        stop = threading.Event()
        app.state.stop = stop
        threads = []
        if start_background:
            for starter in _background_starters():
                threads.extend(starter(app.state.services, stop) or [])
        yield
        stop.set()
        for thread in threads:
            thread.join(timeout=5)

    app = FastAPI(title="madoguchi 窓口", version="0.1.0", lifespan=lifespan,
                  description="Municipal contact-center assistant: answers from official documents, hands over to people.")
    app.state.services = services or build_services()
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    for router in _routers():
        app.include_router(router)
    return app
