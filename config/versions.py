"""Versions recorded with every turn, so an answer can be explained later: which configuration and which
templates framed it (content hashes, computed once per process)."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONFIG_FILES = ("config/search.yml", "config/confidence.yml", "config/ranker.yml", "config/nlu.yml", "config/risk.yml")


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        if path.is_file():
            digest.update(str(path.relative_to(PROJECT_ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


@lru_cache
def config_version(tenant_id: str) -> str:
    paths = [PROJECT_ROOT / f for f in CONFIG_FILES] + [PROJECT_ROOT / "config" / "tenants" / f"{tenant_id}.yaml"]
    return _digest(paths)


@lru_cache
def template_version(tenant_id: str) -> str:
    roots = [PROJECT_ROOT / "dialogue" / "templates", PROJECT_ROOT / "config" / "tenants" / tenant_id / "templates"]
    return _digest([p for root in roots if root.exists() for p in root.rglob("*.j2")])
