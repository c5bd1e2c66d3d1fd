"""A staff-curated answer: what a reviewer wrote (or the document they named) for a question. governance.review
finds it; the dialogue answers with it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class CuratedAnswer:
    id: str
    tenant: str
    question: str  # redacted, as the reviewer saw it
    answer: str | None  # own text; None when the reviewer named the right document instead
    doc_id: str | None
    source_title: str | None
    source_url: str | None
    expires_at: datetime | None
    match: str = "exact"  # "exact" | "similar"
    similarity: float = 1.0
