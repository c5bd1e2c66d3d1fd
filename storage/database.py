"""The database handle: one engine, migrations to head, and short transactions.

SQLite (the default, a file under settings.data_dir) runs in WAL mode with a busy timeout, and every write
transaction starts with BEGIN IMMEDIATE. Why: a deferred transaction that reads and then writes can fail at once
with "database is locked" when another writer got in first; IMMEDIATE takes the write lock up front and waits
politely (busy_timeout) instead. PostgreSQL (psycopg 3) is the production back end; an optional `schema` puts
every table in a schema of its own (tests, several installations sharing one server).
"""
from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from config.settings import get_settings
from core.text import storable

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
SQLITE_BUSY_TIMEOUT_S = 30
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000
_READ_ONLY = "madoguchi_read_only"
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _json_dumps(value: Any) -> str:
    # Japanese stays readable in the database; default=str keeps datetimes inside JSON documents serialisable.
    return json.dumps(storable(value), ensure_ascii=False, default=str)


def _storable_parameters(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                         executemany: bool) -> tuple[str, Any]:
    """The last line of defence for text no caller cleaned (an operator's reply, a user name typed at sign-in):
    a NUL or a lone surrogate in any bound string would make the statement fail on one back end or both."""
    return statement, storable(parameters)


def default_url() -> str:
    return get_settings().effective_database_url


class Database:
    """`Database(url).migrate()` then `with db.transaction() as conn: ...` (SQLAlchemy Core Connection)."""

    def __init__(self, url: str | None = None, *, schema: str | None = None, pool_size: int = 10,
                 max_overflow: int = 20, echo: bool = False) -> None:
        self.url = make_url(url or default_url())
        if schema is not None and not _SCHEMA_NAME.match(schema):
            raise ValueError(f"schema name {schema!r}: use lower-case letters, digits and underscores")
        self.schema = schema
        self.engine: Engine = self._create_engine(pool_size, max_overflow, echo)
        self._write_lock = threading.RLock() if self.dialect == "sqlite" else None

    @property
    def dialect(self) -> str:
        """'sqlite' or 'postgresql'."""
        return self.engine.dialect.name

    def _create_engine(self, pool_size: int, max_overflow: int, echo: bool) -> Engine:
        if self.url.get_backend_name() == "sqlite":
            return self._create_sqlite_engine(echo)
        # A process frozen inside a transaction would hold its row locks for ever: PostgreSQL ends such a session.
        options = f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS}"
        if self.schema:
            options += f" -c search_path={self.schema}"
        connect_args = {"options": options}
        engine = create_engine(
            self.url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True, echo=echo,
            json_serializer=_json_dumps, connect_args=connect_args,
        )
        event.listen(engine, "before_cursor_execute", _storable_parameters, retval=True)
        return engine

    def _create_sqlite_engine(self, echo: bool) -> Engine:
        in_memory = self.url.database in (None, "", ":memory:")
        if not in_memory:
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            self.url, echo=echo, json_serializer=_json_dumps,
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False},
            # An in-memory database exists once per connection: share the one connection.
            **({"poolclass": StaticPool} if in_memory else {}),
        )
        event.listen(engine, "connect", _configure_sqlite_connection)
        event.listen(engine, "begin", _begin_sqlite_transaction)
        event.listen(engine, "before_cursor_execute", _storable_parameters, retval=True)
        return engine

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction: commits on leaving the block, rolls back on an exception."""
        with self._sqlite_writer_turn(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def _sqlite_writer_turn(self) -> Iterator[None]:
        """SQLite admits one writer; threads of this process queue on a lock and wake at once, instead of
        polling SQLite's busy handler, whose growing sleeps put ~1 s on the slowest writes under contention.
        Other processes still wait through busy_timeout."""
        if self._write_lock is None:
            yield
            return
        with self._write_lock:
            yield

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only unit of work; on SQLite it does not take the write lock."""
        with self.engine.connect() as conn:
            conn = conn.execution_options(**{_READ_ONLY: True})
            with conn.begin():
                yield conn

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to `revision` (head by default). Safe to call from several processes at start-up."""
        from alembic import command  # alembic loads in ~0.3 s: only when migrating

        with self.engine.begin() as conn:
            self._prepare_for_migration(conn)
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)

    def _prepare_for_migration(self, conn: Connection) -> None:
        if self.dialect != "postgresql":
            return  # SQLite: BEGIN IMMEDIATE already serialises concurrent migrations.
        # Two processes starting together must not both create the tables.
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('madoguchi.migrate'))"))
        if self.schema:
            conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()

    def drop_schema(self) -> None:
        """PostgreSQL with a schema of its own: drop it and everything in it (tests clean up with this)."""
        if self.dialect != "postgresql" or not self.schema:
            raise RuntimeError("drop_schema is only for a PostgreSQL database with its own schema")
        with self.engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r}, schema={self.schema!r})"


def alembic_config() -> Any:
    """An Alembic Config pointing at the migrations inside the installed package (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _configure_sqlite_connection(dbapi_connection: Any, _record: Any) -> None:
    # Autocommit at the driver level so that SQLAlchemy's "begin" event decides how a transaction starts.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_S * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _begin_sqlite_transaction(conn: Connection) -> None:
    read_only = conn.get_execution_options().get(_READ_ONLY, False)
    conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")
