"""Which index version each tenant serves: the newest published row (storage/schema.py: index_versions)."""
from __future__ import annotations

from sqlalchemy import Connection, insert, select

from .schema import index_versions
from .types import Row, utcnow


def publish_index_version(conn: Connection, *, tenant: str, version: str, documents: int,
                          built_at: str | None = None, published_by: str | None = None) -> int:
    result = conn.execute(insert(index_versions).values(
        tenant=tenant, version=version, documents=documents, built_at=built_at, published_at=utcnow(),
        published_by=published_by))
    return int(result.inserted_primary_key[0])


def current_index_version(conn: Connection, tenant: str) -> Row | None:
    query = (select(index_versions).where(index_versions.c.tenant == tenant)
             .order_by(index_versions.c.id.desc()).limit(1))
    return conn.execute(query).first()


def index_version_history(conn: Connection, tenant: str, limit: int = 20) -> list[Row]:
    query = (select(index_versions).where(index_versions.c.tenant == tenant)
             .order_by(index_versions.c.id.desc()).limit(limit))
    return list(conn.execute(query))
