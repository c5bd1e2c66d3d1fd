"""The app on a throw-away SQLite database with the fake engine (fast); browser tests use the real engine."""
from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from config.settings import Settings
from madoguchi.app import create_app
from madoguchi.composition import build_services
from storage.testing import migrated_sqlite_template, sqlite_copy
from tests.api.fakes import FakeEngine


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return migrated_sqlite_template(tmp_path_factory.mktemp("template"))


@pytest.fixture
def services(tmp_path: Path, sqlite_template: Path):
    settings = Settings(data_dir=tmp_path / "data", default_tenant="amagasaki", secret_key="test-secret")
    db = sqlite_copy(sqlite_template, tmp_path)
    yield build_services(settings, db=db, engine=FakeEngine(), channels={})
    db.dispose()


@pytest.fixture
def client(services) -> TestClient:
    with TestClient(create_app(services, start_background=False)) as test_client:
        yield test_client


@pytest.fixture
def session(client):
    """A started conversation: (conversation id, headers carrying the resident token)."""
    body = client.post("/api/v1/t/amagasaki/conversations").json()
    return body["conversation_id"], {"X-Resident-Token": body["resident_token"]}
