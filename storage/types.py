"""Column types that behave the same on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import JSON, BigInteger, Connection, DateTime, Integer, Row
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.types import TypeDecorator

# What callers outside storage see of SQLAlchemy: a transaction's connection, a row, and the errors worth catching
# (storage is the only floor that imports sqlalchemy; the import-linter contracts check it).
__all__ = ["Connection", "Row", "DuplicateKey", "StorageError", "UTCDateTime", "JSONDoc", "SerialId", "utcnow"]
DuplicateKey = IntegrityError  # a unique constraint said no (a taken username, an event recorded twice)
StorageError = SQLAlchemyError  # the database is unreachable or not migrated


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Always hands back an aware UTC datetime.

    Why: SQLite has no time-zone type and returns naive values, PostgreSQL returns aware ones; callers should never
    have to know which back end they are on when comparing deadlines.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database: pass an aware UTC datetime")
        value = value.astimezone(timezone.utc)
        # SQLite stores text; a fixed naive UTC form keeps string comparison equal to time comparison.
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite; SQL NULL for None.
JSONDoc = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
SerialId = BigInteger().with_variant(Integer(), "sqlite")
