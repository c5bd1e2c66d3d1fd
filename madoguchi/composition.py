"""The composition root: the one place that builds the long-lived parts of a running service and wires the floors
together. Everything below it receives what it needs; nothing below it builds a database, a knowledge base or an
embedder of its own.

    services = build_services()            # settings from the environment, the migrated database, …
    app = create_app(services)             # madoguchi/app.py; routers get it with Depends(get_services)

Tests build their own (`build_services(settings, db=…, engine=…, channels=…, runtime=…)`) and pass it to
`create_app(services=...)`.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi import Request

from channels.registry import TenantChannels, build_channels, log_channel_status
from config.settings import Settings, get_settings, require_safe_secret_key
from config.tenancy import Tenant, UnknownTenant, load_tenants
from conversations.ports import TurnEngine
from conversations.runtime import ChannelRuntime
from dialogue.engine import DialogueEngine, default_deps
from dialogue.steps.deps import Corrections
from escalation.hours import is_open
from escalation.queue import EscalationQueue
from governance.review import StaffCorrections
from knowledge.embedder import Embedder
from knowledge.knowledge_base import KnowledgeBase
from knowledge.publication import PUBLISHED, PublishedVersions
from storage import Database

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    tenants: dict[str, Tenant]
    db: Database
    knowledge: KnowledgeBase  # one per process: every tenant's index, loaded lazily
    embedder: Embedder  # the configured one (settings.embedder): retrieval, intents, curated answers, topics
    corrections: StaffCorrections  # reviewers' curated answers and outdated flags, cached per tenant
    queue: EscalationQueue
    engine: TurnEngine
    channels: dict[str, TenantChannels]  # tenant id → its adapters
    runtime: ChannelRuntime  # the channel loops' settings, wake-ups and turn waiters

    def tenant(self, tenant_id: str) -> Tenant:
        if tenant_id not in self.tenants:
            raise UnknownTenant(tenant_id)
        return self.tenants[tenant_id]


def office_hours_now(tenant: Tenant) -> bool | None:
    return is_open(tenant, datetime.now(UTC))


def build_engine(settings: Settings, knowledge: KnowledgeBase,
                 corrections: Corrections | None = None) -> DialogueEngine:
    """The dialogue with the staff corrections and office hours of the other floors wired in."""
    deps = default_deps(settings, knowledge)
    if corrections is not None:
        deps.corrections = corrections
    deps.is_open = office_hours_now
    return DialogueEngine(settings=settings, deps=deps)


def build_services(settings: Settings | None = None, *, db: Database | None = None,
                   knowledge: KnowledgeBase | None = None, engine: TurnEngine | None = None,
                   channels: dict[str, TenantChannels] | None = None,
                   runtime: ChannelRuntime | None = None) -> Services:
    settings = settings or get_settings()
    require_safe_secret_key(settings)  # before anything is built: a known key signs anyone in
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    tenants = load_tenants(settings.tenants_dir)
    if db is None:
        db = Database(settings.effective_database_url)
        db.migrate()
    knowledge = knowledge or KnowledgeBase(settings, published=published_versions(db, settings))
    corrections = StaffCorrections(db, knowledge.embedder, settings)
    if channels is None:
        channels = build_channels(list(tenants.values()), settings=settings)
        log_channel_status(channels)
    return Services(
        settings=settings, tenants=tenants, db=db, knowledge=knowledge, embedder=knowledge.embedder,
        corrections=corrections, queue=EscalationQueue(db),
        engine=engine or build_engine(settings, knowledge, corrections), channels=channels,
        runtime=runtime or ChannelRuntime(),
    )


def published_versions(db: Database, settings: Settings) -> PublishedVersions | None:
    """Many instances serve the version published in the shared database; one instance its own directory."""
    return PublishedVersions(db, settings) if settings.index_source == PUBLISHED else None


def get_services(request: Request) -> Services:
    return request.app.state.services
