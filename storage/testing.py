"""Throw-away migrated databases for tests (any area's tests may use these).

    with temporary_database("postgresql", tmp_path) as db: ...   # a uniquely named schema, dropped afterwards
    with temporary_database("sqlite", tmp_path) as db: ...       # a file in tmp_path
PostgreSQL tests should call `postgres_unavailable()` and skip with its message when it returns one.
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Iterator
from uuid import uuid4

from .database import Database
from .schema import metadata

DEFAULT_POSTGRES_URL = os.environ.get(
    "MADOGUCHI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@lru_cache
def postgres_unavailable(url: str = DEFAULT_POSTGRES_URL) -> str | None:
    """None when PostgreSQL answers at `url`, else why not (for pytest.skip)."""
    import psycopg
    from sqlalchemy.engine import make_url

    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        with psycopg.connect(plain, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as error:  # any failure means "skip", with the reason shown
        return f"PostgreSQL unreachable at {make_url(url).render_as_string(hide_password=True)}: {error}"
    return None


def temporary_postgres(url: str = DEFAULT_POSTGRES_URL, **engine_options: object) -> Database:
    """A migrated database in a fresh schema `t_<random>`; call db.drop_schema() and db.dispose() afterwards."""
    db = Database(url, schema=f"t_{uuid4().hex[:16]}", **engine_options)
    db.migrate()
    return db


@contextmanager
def temporary_database(kind: str, directory: Path, *, postgres_url: str = DEFAULT_POSTGRES_URL,
                       **engine_options: object) -> Iterator[Database]:
    """kind is 'sqlite' or 'postgresql'; the database is migrated to head and cleaned up on exit."""
    if kind == "sqlite":
        db = Database(f"sqlite:///{directory / 'madoguchi-test.db'}", **engine_options)
        db.migrate()
    elif kind == "postgresql":
        db = temporary_postgres(postgres_url, **engine_options)
    else:
        raise ValueError(f"unknown database kind {kind!r}")
    try:
        yield db
    finally:
        if kind == "postgresql":
            db.drop_schema()
        db.dispose()


def empty_all_tables(db: Database) -> None:
    """Delete every row (PostgreSQL: TRUNCATE, which the audit log's append-only trigger does not cover)."""
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with db.transaction() as conn:
        if db.dialect == "postgresql":
            conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
        else:
            raise RuntimeError("for SQLite copy a migrated template file instead (sqlite_copy)")


def migrated_sqlite_template(directory: Path) -> Path:
    """Migrate once into `directory/template.db`; copies of it are fresh databases at head."""
    path = directory / "template.db"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    db.dispose()  # closing the last connection checkpoints the WAL into the file, so a plain copy is complete
    return path


def sqlite_copy(template: Path, directory: Path, **engine_options: object) -> Database:
    import shutil

    path = directory / "madoguchi-test.db"
    shutil.copyfile(template, path)
    return Database(f"sqlite:///{path}", **engine_options)
