"""Index versions shared by every instance: an ingest job publishes, every web instance and worker serves.

A snapshot is immutable and named by its version (index_dir/<tenant>/versions/<version>/, index_dir on a path
every instance shares); the database's index_versions table says which version is current (a tenant's newest
row). So instances never read a half-written index, they agree on the version by reading one row, and a rollback
is publishing an older version again.

    madoguchi ingest --tenant T     # with MADOGUCHI_INDEX_SOURCE=published: builds, writes the snapshot, publishes
    madoguchi index publish --tenant T [--version V]
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from config.settings import Settings
from knowledge.index import TenantIndex
from storage import Database, current_index_version, publish_index_version

VERSIONS_DIR = "versions"
PUBLISHED = "published"  # settings.index_source: serve the published version (else the tenant directory's index)


@dataclass(frozen=True)
class PublishedIndex:
    tenant: str
    version: str
    directory: Path


def snapshot_dir(settings: Settings, tenant: str, version: str) -> Path:
    return settings.index_dir / tenant / VERSIONS_DIR / version


def write_snapshot(settings: Settings, index: TenantIndex) -> Path:
    """The index as an immutable snapshot directory (written aside, then renamed into place whole)."""
    target = snapshot_dir(settings, index.tenant, index.version)
    if (target / "manifest.json").exists():
        return target  # the version is a content hash: the same version is the same index
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{index.version}-", dir=target.parent))
    index.save(scratch)
    try:
        scratch.rename(target)
    except OSError:  # another job published the same version meanwhile
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def publish(db: Database, settings: Settings, index: TenantIndex, published_by: str | None = None) -> PublishedIndex:
    directory = write_snapshot(settings, index)
    with db.transaction() as conn:
        publish_index_version(conn, tenant=index.tenant, version=index.version, documents=len(index),
                              built_at=index.manifest.get("built_at"), published_by=published_by)
    return PublishedIndex(index.tenant, index.version, directory)


def publish_if_configured(settings: Settings, index: TenantIndex, published_by: str) -> PublishedIndex | None:
    """After an ingest or a sync: publish when the instances serve published versions."""
    if settings.index_source != PUBLISHED:
        return None
    db = Database(settings.effective_database_url)
    try:
        db.migrate()
        return publish(db, settings, index, published_by)
    finally:
        db.dispose()


class PublishedVersions:
    """The current published version of a tenant's index, read from the shared database."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db, self.settings = db, settings

    def current(self, tenant: str) -> PublishedIndex | None:
        with self.db.read() as conn:
            row = current_index_version(conn, tenant)
        if row is None:
            return None
        return PublishedIndex(tenant, row.version, snapshot_dir(self.settings, tenant, row.version))
