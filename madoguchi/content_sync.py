"""Keeping websites in sync, wired: knowledge.sync re-crawls and updates the index, governance.review flags the
curated answers whose source page was removed. `madoguchi sync --tenant T` and the service's schedule (the tenant
YAML's `sync:`) both run `run_sync`."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from config.settings import Settings
from config.tenancy import Tenant
from governance.review import StaffCorrections, flag_curated_for_removed_pages
from knowledge.crawl import PageOutcome
from knowledge.sync import SyncReport, SyncSchedule, last_synced, sync_tenant

log = logging.getLogger(__name__)
CHECK_EVERY_SECONDS = 60.0


def run_sync(tenant: Tenant, settings: Settings, corrections: StaffCorrections,
             progress: Callable[[str, PageOutcome, int], None] | None = None) -> tuple[SyncReport, list[str]]:
    """(the sync report, ids of curated answers flagged for review because their page was removed)."""
    report = sync_tenant(tenant, settings, progress=progress)
    flagged = flag_curated_for_removed_pages(corrections, tenant, [(r.url, r.doc_ids) for r in report.removed]) \
        if report.removed else []
    return report, flagged


def due_tenants(tenants: list[Tenant], settings: Settings, now: datetime) -> list[Tenant]:
    due = []
    for tenant in tenants:
        try:
            schedule = SyncSchedule.for_tenant(tenant)
        except ValueError:
            log.exception("tenant %s: bad sync schedule", tenant.id)
            continue
        if schedule is not None and schedule.due(last_synced(settings, tenant.id), now):
            due.append(tenant)
    return due


def run_due_syncs(services: Any, now: datetime | None = None) -> list[SyncReport]:
    reports = []
    for tenant in due_tenants(list(services.tenants.values()), services.settings, now or datetime.now(timezone.utc)):
        try:
            report, flagged = run_sync(tenant, services.settings, services.corrections)
        except Exception:  # noqa: BLE001 - one tenant's unreachable site must not stop the others' syncs
            log.exception("scheduled sync of %s failed", tenant.id)
            continue
        log.warning("sync %s: %s; %d curated answers flagged for review", tenant.id,
                    {name: {k: v for k, v in s.items() if k != "failures"} for name, s in report.sources.items()},
                    len(flagged))
        reports.append(report)
    return reports


def start_background(services: Any, stop: threading.Event) -> list[threading.Thread]:
    """Checks every minute whether a tenant's scheduled sync is due (only tenants with `sync:` in their YAML)."""
    if not any(tenant.get("sync") for tenant in services.tenants.values()):
        return []

    def loop() -> None:
        while not stop.wait(CHECK_EVERY_SECONDS):
            run_due_syncs(services)

    thread = threading.Thread(target=loop, name="website-sync", daemon=True)
    thread.start()
    return [thread]
