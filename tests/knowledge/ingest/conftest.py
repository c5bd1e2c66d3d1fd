"""Helpers for the loader tests: run a loader, split its output, load a tenant source from the real YAML."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import pytest

from config.tenancy import SourceSpec, load_tenant_file
from knowledge.documents import IngestProblem, SourceDocument
from knowledge.ingest.base import load_source

TOKYO_YAML = Path(__file__).resolve().parents[3] / "config" / "tenants" / "tokyo.yaml"


def split(items: Iterable[Any]) -> tuple[list[SourceDocument], list[IngestProblem]]:
    docs, problems = [], []
    for item in items:
        (problems if isinstance(item, IngestProblem) else docs).append(item)
    return docs, problems


def tokyo_specs(loader: str) -> list[SourceSpec]:
    return [spec for spec in load_tenant_file(TOKYO_YAML).sources if spec.loader == loader]


def load_tokyo(loader: str, shared_dir: Path) -> tuple[list[SourceDocument], list[IngestProblem]]:
    """Every tokyo source of one loader, as the tenant YAML configures it."""
    items = [item for spec in tokyo_specs(loader) for item in load_source(spec, "tokyo", shared_dir)]
    return split(items)


@pytest.fixture
def write(tmp_path: Path):
    """write("name", text or bytes, encoding="utf-8") -> Path inside tmp_path."""

    def _write(name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_bytes(content.encode(encoding))
        return target

    return _write
