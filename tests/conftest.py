"""Shared fixtures: the ../shared data (skip cleanly when absent) and the two storage back ends."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

from storage import Database
from storage.testing import (
    empty_all_tables, migrated_sqlite_template, postgres_unavailable, sqlite_copy, temporary_postgres,
)

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("MADOGUCHI_SHARED_DIR", PROJECT_ROOT.parent / "shared"))
POSTGRES_URL = os.environ.get("MADOGUCHI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


# --- storage on both back ends -------------------------------------------------------------------------------
# The `db` fixture: every test that takes it runs on SQLite and on PostgreSQL. PostgreSQL: one freshly migrated
# schema per test run (dropped at the end), emptied before each test. SQLite: a migrated template file, copied for
# each test. Both are much faster than migrating per test.
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


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not (SHARED_DIR / "data").is_dir():
        pytest.skip(f"../shared is absent ({SHARED_DIR}): this test reads the shared data in place")
    return SHARED_DIR


@pytest.fixture(scope="session")
def localgovfaq_dir(shared_dir: Path) -> Path:
    path = shared_dir / "data" / "localgovfaq"
    if not (path / "corpus.jsonl").exists():
        pytest.skip(f"LocalgovFAQ is absent at {path}")
    return path


# --- a real knowledge base, built once per machine -------------------------------------------------------------
# Tests that need real answers share one index of the real data (../shared), kept between runs outside the
# checkout (~/.cache/madoguchi/test-cache, or MADOGUCHI_TEST_CACHE): the embedding cache there is keyed by content
# hash, so every clone on this machine reuses it and a rebuild of unchanged data takes seconds, not minutes.
TEST_CACHE_DIR = Path(os.environ.get("MADOGUCHI_TEST_CACHE", Path.home() / ".cache" / "madoguchi" / "test-cache"))


def _ensure_index(settings, tenant_id: str) -> None:
    """Re-ingest every session (seconds when nothing changed) so tests never run on a stale index. A file lock
    keeps two test runs on one machine from building the same index at once."""
    import fcntl

    from config.tenancy import get_tenant
    from knowledge.ingestion import ingest_tenant

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with open(settings.data_dir / f".ingest-{tenant_id}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        ingest_tenant(get_tenant(tenant_id), settings)


@pytest.fixture(scope="session")
def knowledge_settings(shared_dir: Path):
    """Settings whose data_dir holds real indexes of amagasaki (LocalgovFAQ) and tokyo."""
    from config.settings import Settings

    settings = Settings(shared_dir=shared_dir, data_dir=TEST_CACHE_DIR)
    for tenant_id in ("amagasaki", "tokyo"):
        _ensure_index(settings, tenant_id)
    return settings


@pytest.fixture(scope="session")
def knowledge_base(knowledge_settings):
    from knowledge.knowledge_base import KnowledgeBase

    return KnowledgeBase(knowledge_settings)


@pytest.fixture(scope="session")
def dialogue_engine(knowledge_settings, knowledge_base):
    """The real dialogue engine on the real indexes, wired as the composition root wires it (office hours; no staff
    corrections: tests that need them build their own services). Session-wide: loading is the slow part."""
    from madoguchi.composition import build_engine

    return build_engine(knowledge_settings, knowledge_base)
