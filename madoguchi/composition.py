"""The long-lived parts of a running service, built once per process and shared by every router and worker.

Routers get them with `Depends(get_services)`; tests build their own `Services` (e.g. on a temporary database)
and pass it to `create_app(services=...)`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from fastapi import Request

from config.settings import Settings, get_settings
from config.tenancy import Tenant, load_tenants

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    tenants: dict[str, Tenant]
    db: Any  # storage.Database
    queue: Any  # escalation.queue.EscalationQueue
    engine: Any  # dialogue.engine.DialogueEngine
    channels: dict[str, Any] = field(default_factory=dict)  # tenant id → channels.registry.TenantChannels
    # Background loops started with the app (inbox worker, outbox sender, SLA watcher, retention, …).
    background: list[Callable[["Services"], Any]] = field(default_factory=list)

    def tenant(self, tenant_id: str) -> Tenant:
        from config.tenancy import UnknownTenant

        if tenant_id not in self.tenants:
            raise UnknownTenant(tenant_id)
        return self.tenants[tenant_id]


def build_services(settings: Settings | None = None, *, db: Any = None, engine: Any = None,
                   channels: dict[str, Any] | None = None) -> Services:
    from channels.registry import build_channels, log_channel_status
    from dialogue.engine import DialogueEngine
    from escalation.queue import EscalationQueue
    from storage import Database

    settings = settings or get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    tenants = load_tenants(settings.tenants_dir)
    if db is None:
        db = Database(settings.effective_database_url)
        db.migrate()
    from governance.review import bind_database

    bind_database(db)  # staff corrections are read from this service's database
    if channels is None:
        channels = build_channels(list(tenants.values()), settings=settings)
        log_channel_status(channels)
    return Services(
        settings=settings, tenants=tenants, db=db, queue=EscalationQueue(db),
        engine=engine or DialogueEngine(settings=settings), channels=channels,
    )


def get_services(request: Request) -> Services:
    return request.app.state.services
