"""FAQ JSONL: one {"id", "question", "answer"} object per line (LocalgovFAQ corpus layout)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

from knowledge.documents import IngestProblem, SourceDocument
from knowledge.ingest.base import Item, citation_fields, register


@register("faq_jsonl")
def load_faq_jsonl(path: Path, tenant: str, options: dict[str, Any]) -> Iterator[Item]:
    shared = citation_fields(options)
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
                doc_id, question, answer = str(row["id"]), row["question"].strip(), row["answer"].strip()
            except (ValueError, KeyError, AttributeError, TypeError) as exc:
                yield IngestProblem(str(path), line_no, f"malformed FAQ row: {exc!r}")
                continue
            if not question or not answer:
                yield IngestProblem(str(path), line_no, "empty question or answer")
                continue
            yield SourceDocument(
                doc_id=doc_id, tenant=tenant, title=question, body=answer, kind="faq",
                citation=f"{path.name} id={doc_id}", **shared,
            )
