"""Migrations build the schema on an empty database of either kind, match the code's tables, and ship in the package."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from setuptools import find_packages
from sqlalchemy import inspect, text, update
from sqlalchemy.exc import DatabaseError

from storage import Database, append_audit
from storage.database import MIGRATIONS_DIR, alembic_config
from storage.schema import audit_log, metadata
from storage.testing import postgres_unavailable, temporary_postgres
from tests.conftest import POSTGRES_URL

PROJECT_ROOT = Path(__file__).resolve().parents[2]
EXPECTED_TABLES = set(metadata.tables)
# The newest revision in the package, so adding a migration needs no edit here.
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_migrate_creates_every_table_at_head(db: Database) -> None:
    assert db.current_revision() == HEAD
    assert EXPECTED_TABLES <= set(inspect(db.engine).get_table_names())


def test_migrated_schema_matches_the_code(db: Database) -> None:
    with db.engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    assert differences == []


def test_migrate_again_is_a_no_op(db: Database) -> None:
    db.migrate()
    assert db.current_revision() == HEAD


def test_downgrade_to_base_and_up_again(db: Database) -> None:
    with db.engine.begin() as conn:
        config = alembic_config()
        config.attributes["connection"] = conn
        command.downgrade(config, "base")
    assert not EXPECTED_TABLES & set(inspect(db.engine).get_table_names())
    db.migrate()
    assert EXPECTED_TABLES <= set(inspect(db.engine).get_table_names())


def test_audit_log_refuses_update_and_delete_in_the_database(db: Database) -> None:
    with db.transaction() as conn:
        append_audit(conn, actor="sato", action="login", tenant="tokyo")
    for statement in (update(audit_log).values(actor="someone else"), audit_log.delete()):
        with pytest.raises(DatabaseError, match="append-only"):
            with db.transaction() as conn:
                conn.execute(statement)
    with db.read() as conn:
        assert conn.execute(text("SELECT actor FROM audit_log")).scalars().all() == ["sato"]


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_default_database_is_a_sqlite_file_under_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from config.settings import get_settings

    monkeypatch.setenv("MADOGUCHI_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("MADOGUCHI_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        db = Database()
        db.migrate()
        assert (tmp_path / "var" / "madoguchi.db").exists()
    finally:
        get_settings.cache_clear()


def test_two_processes_worth_of_concurrent_migrations_do_not_collide(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'race.db'}"
    errors: list[BaseException] = []

    def migrate() -> None:
        try:
            Database(url).migrate()
        except BaseException as error:  # collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=migrate) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert Database(url).current_revision() == HEAD


@pytest.mark.postgres
def test_postgres_tables_live_in_their_own_schema_only() -> None:
    if reason := postgres_unavailable(POSTGRES_URL):
        pytest.skip(reason)
    db = temporary_postgres(POSTGRES_URL)
    try:
        tables = set(inspect(db.engine).get_table_names(schema=db.schema))
        assert EXPECTED_TABLES <= tables
        with db.read() as conn:
            assert conn.execute(text("SELECT current_schema()")).scalar() == db.schema
    finally:
        db.drop_schema()
        db.dispose()


def test_migrations_ship_inside_the_installed_package() -> None:
    packages = find_packages(str(PROJECT_ROOT), include=["storage*"])
    assert "storage.migrations" in packages
    assert "storage.migrations.versions" in packages
    assert (MIGRATIONS_DIR / "script.py.mako").exists()  # package-data "*.mako" in pyproject
    assert MIGRATIONS_DIR.is_relative_to(Path(__import__("storage").__file__).parent)


def test_a_reader_is_not_blocked_by_an_open_write_transaction(db: Database) -> None:
    with db.transaction() as writer:
        append_audit(writer, actor="sato", action="login", tenant="tokyo")
        with db.read() as reader:  # WAL on SQLite, MVCC on PostgreSQL: sees the last commit, does not wait
            assert reader.execute(text("SELECT count(*) FROM audit_log")).scalar() == 0
    with db.read() as reader:
        assert reader.execute(text("SELECT count(*) FROM audit_log")).scalar() == 1
