"""First start on a fresh clone: build the indexes that are missing in the background, so the service answers
at once (questions go to a person until a tenant's index is ready) and nobody has to run a set-up step."""
from __future__ import annotations

import logging
import threading

from config.settings import Settings
from config.tenancy import Tenant
from knowledge.index import index_is_current
from knowledge.ingestion import ingest_tenant, tenant_index_dir

log = logging.getLogger(__name__)


def missing_indexes(tenants: list[Tenant], settings: Settings) -> list[Tenant]:
    """Tenants without an index, or with one written by an older index format (rebuilt, not half-used)."""
    return [t for t in tenants if t.sources and not index_is_current(tenant_index_dir(settings, t.id))]


def build_missing_indexes_in_background(tenants: list[Tenant], settings: Settings) -> threading.Thread | None:
    todo = missing_indexes(tenants, settings)
    if not todo:
        return None

    def run() -> None:
        for tenant in todo:
            log.warning("building the %s index from %s (first start; a few minutes)", tenant.id, settings.shared_dir)
            try:
                report = ingest_tenant(tenant, settings)
            except Exception:  # noqa: BLE001 - one tenant's broken source must not stop the others
                log.exception("could not build the %s index", tenant.id)
                continue
            log.warning("%s index ready: %s documents, %s problems", tenant.id, report.build.documents,
                        len(report.problems))

    thread = threading.Thread(target=run, name="index-bootstrap", daemon=True)
    thread.start()
    return thread
