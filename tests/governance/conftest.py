"""Governance tests run on SQLite and PostgreSQL (`db`, tests/conftest.py), on services built over that database."""
from __future__ import annotations

from pathlib import Path
from collections.abc import Iterator

import pytest

from storage import Database
from storage.testing import sqlite_copy
from tests.governance.seeding import make_services


@pytest.fixture
def sqlite_db(sqlite_template: Path, tmp_path: Path) -> Iterator[Database]:
    database = sqlite_copy(sqlite_template, tmp_path)
    yield database
    database.dispose()


@pytest.fixture
def services(db: Database, tmp_path: Path):
    return make_services(db, tmp_path)
