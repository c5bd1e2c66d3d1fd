"""Versions recorded with every turn, so an answer can be explained later: which configuration and which
templates framed it (content hashes, computed once per process and tenants directory)."""
from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from config.settings import DIALOGUE_TEMPLATES_DIR, PROJECT_ROOT

CONFIG_FILES = ("config/search.yml", "config/confidence.yml", "config/ranker.yml", "config/nlu.yml", "config/risk.yml")


def _label(path: Path) -> str:
    """The path as it enters the hash: relative to the project (stable across checkouts), else in full."""
    try:
        return str(path.relative_to(PROJECT_ROOT))
    except ValueError:
        return str(path)


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        if path.is_file():
            digest.update(_label(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


@lru_cache
def config_version(tenant_id: str, tenants_dir: Path) -> str:
    """The shared configuration files and the tenant's YAML (settings.tenants_dir)."""
    return _digest([PROJECT_ROOT / f for f in CONFIG_FILES] + [Path(tenants_dir) / f"{tenant_id}.yaml"])


@lru_cache
def template_version(tenant_id: str, tenants_dir: Path) -> str:
    """Every default reply template and the tenant's overrides (settings.tenants_dir/<tenant>/templates)."""
    roots = [DIALOGUE_TEMPLATES_DIR, Path(tenants_dir) / tenant_id / "templates"]
    return _digest([p for root in roots if root.exists() for p in root.rglob("*.j2")])
