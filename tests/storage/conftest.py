"""The `db` fixture: every storage and queue test runs on SQLite and on PostgreSQL.

PostgreSQL: one freshly migrated schema per test run (dropped at the end), emptied before each test.
SQLite: a migrated template file, copied for each test. Both are much faster than migrating per test.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from madoguchi.storage import Database
from madoguchi.storage.testing import (
    empty_all_tables, migrated_sqlite_template, postgres_unavailable, sqlite_copy, temporary_postgres,
)
from tests.conftest import POSTGRES_URL

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def postgres_test_db() -> Iterator[Database]:
    if reason := postgres_unavailable(POSTGRES_URL):
        pytest.skip(reason)
    database = temporary_postgres(POSTGRES_URL)
    yield database
    database.drop_schema()
    database.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_template(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgresql":
        database = request.getfixturevalue("postgres_test_db")
        empty_all_tables(database)
        yield database
        return
    database = sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
    yield database
    database.dispose()
