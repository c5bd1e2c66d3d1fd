"""Governance tests run on SQLite and PostgreSQL (`db`), on services built over that database (`services`)."""
from __future__ import annotations

from pathlib import Path
from collections.abc import Iterator

import pytest

from madoguchi.storage import Database
from madoguchi.storage.testing import (
    empty_all_tables, migrated_sqlite_template, postgres_unavailable, sqlite_copy, temporary_postgres,
)
from tests.conftest import POSTGRES_URL
from tests.governance.seeding import make_services

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def governance_postgres() -> Iterator[Database]:
    if reason := postgres_unavailable(POSTGRES_URL):
        pytest.skip(reason)
    database = temporary_postgres(POSTGRES_URL)
    yield database
    database.drop_schema()
    database.dispose()


@pytest.fixture(scope="session")
def governance_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_template(tmp_path_factory.mktemp("governance-template"))


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "postgresql":
        database = request.getfixturevalue("governance_postgres")
        empty_all_tables(database)
        yield database
        return
    database = sqlite_copy(request.getfixturevalue("governance_sqlite_template"), tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def sqlite_db(governance_sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    database = sqlite_copy(governance_sqlite_template, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def services(db: Database, tmp_path: Path):
    return make_services(db, tmp_path)


@pytest.fixture(autouse=True)
def fresh_corrections_cache() -> Iterator[None]:
    """The PostgreSQL database object is shared by tests (emptied between them): never reuse a cached read."""
    from governance.review import CACHE

    CACHE.clear()
    yield
    CACHE.clear()
