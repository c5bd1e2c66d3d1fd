"""Shared fixtures: the ../shared data (skip cleanly when absent) and the two storage back ends."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DIR = Path(os.environ.get("MADOGUCHI_SHARED_DIR", PROJECT_ROOT.parent / "shared"))
POSTGRES_URL = os.environ.get("MADOGUCHI_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


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
