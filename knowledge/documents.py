"""The unit of official knowledge every loader produces and every answer cites."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SourceDocument:
    """One citable passage of an official source.

    `doc_id` is unique within a tenant and equals the id in the source data where it has one (LocalgovFAQ id).
    `title` is short (a question, an item, a program name): it is embedded on its own because short fields
    embed fast and match residents' short questions well. `body` is the official text quoted in answers.
    """

    doc_id: str
    tenant: str
    title: str
    body: str
    source: str  # the source's name as configured (e.g. "東京備蓄ナビ")
    url: str | None = None
    citation: str | None = None  # file and row/line when there is no URL of its own
    licence: str | None = None
    attribution: str | None = None
    as_of: str | None = None
    kind: str = "passage"  # faq | garbage_item | garbage_days | stockpile | hazard_map | evacuation_sites | service | passage
    meta: dict[str, Any] = field(default_factory=dict)

    def content_hash(self) -> str:
        payload = json.dumps([self.title, self.body], ensure_ascii=False)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SourceDocument":
        return cls(**data)


@dataclass(frozen=True)
class IngestProblem:
    """A row or file that could not be read: reported with file and line, skipped, nothing else lost."""

    file: str
    line: int | None
    reason: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.reason}"
