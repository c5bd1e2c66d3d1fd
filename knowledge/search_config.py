"""Retrieval tunables from config/search.yml (learned on the dev split), with a per-tenant override section."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from knowledge.fusion import FusionConfig
from knowledge.index import FeedbackConfig

SEARCH_YML = Path(__file__).resolve().parent.parent / "config" / "search.yml"


@dataclass(frozen=True)
class SearchConfig:
    candidates_per_run: int
    fusion: FusionConfig
    body_chars_embedded: int
    feedback: FeedbackConfig | None
    raw: dict[str, Any]


@lru_cache
def load_search_config(path: Path = SEARCH_YML) -> SearchConfig:
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return SearchConfig(
        candidates_per_run=int(raw.get("candidates_per_run", 100)),
        fusion=FusionConfig.from_dict(raw.get("fusion", {})),
        body_chars_embedded=int(raw.get("body_chars_embedded", 128)),
        feedback=FeedbackConfig.from_dict(raw.get("feedback")),
        raw=raw,
    )
