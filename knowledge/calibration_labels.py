"""The labelled questions a tenant's calibration learns from, from what a municipality has:

- a labelled file: `{"id", "question" | "query", "relevant": {doc_id: grade}}` lines (LocalgovFAQ), or lines whose
  `evidence` names the source file and row (the Tokyo set; resolved against the index by knowledge/evidence.py).
  A line with neither is a question the documents cannot answer (the right behaviour is to hand it over);
- reviewers' "right source" marks from the review page (a curated answer that names a document, not its own text);
- where neither exists, questions generated from the tenant's own documents (knowledge/question_gen.py). They are
  kept apart from the index text: they are never indexed, only used as labels.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Sequence

from knowledge.documents import SourceDocument
from knowledge.evaluation import EvalQuery
from knowledge.evidence import resolve
from storage.governance import active_curated_answers

EVIDENCE_GRADE = 2  # the evidence row answers the question


def labelled_row(row: dict[str, Any], docs: Sequence[SourceDocument]) -> EvalQuery:
    """One line: its question (the last of `turns` when the line is a conversation), graded documents and what
    the right behaviour is (`expect`: a clarify or hand-over line's evidence only says which records it is about)."""
    turns = [str(t) for t in row.get("turns") or []]
    text = turns[-1] if turns else (row.get("question") or row.get("query") or "")
    relevant = {str(k): int(v) for k, v in (row.get("relevant") or {}).items()}
    expect = row.get("expect")
    evidence = row.get("evidence")
    if evidence and expect in (None, "answer"):
        for doc_id in resolve(evidence, docs):
            relevant[doc_id] = max(relevant.get(doc_id, 0), EVIDENCE_GRADE)
    elif evidence and expect == "clarify":
        relevant = {doc_id: 1 for doc_id in resolve(evidence, docs)}  # the records the choices lead to
    return EvalQuery(str(row.get("id")), text, relevant, expect, tuple(turns[:-1]))


def read_labelled(path: Path, docs: Sequence[SourceDocument], split: str | None = None) -> list[EvalQuery]:
    """Every line of a labelled file (only those of `split` when given and the lines carry one)."""
    out = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            if split and row.get("split") not in (None, split):
                continue
            out.append(labelled_row(row, docs))
    return out


def review_marks(db: Any, tenant: str) -> list[EvalQuery]:
    """Reviewers' "right source" marks: the (redacted) question and the document they named as its answer."""
    with db.read() as conn:
        rows = active_curated_answers(conn, tenant)
    return [EvalQuery(f"mark:{row.id}", row.question, {row.doc_id: EVIDENCE_GRADE})
            for row in rows if row.doc_id and not row.answer and row.question]


def known_documents(queries: Iterable[EvalQuery], docs: Sequence[SourceDocument]) -> list[EvalQuery]:
    """Drop labels of documents no longer in the index (a mark made before a re-ingest that removed them)."""
    ids = {d.doc_id for d in docs}
    out = []
    for q in queries:
        relevant = {d: g for d, g in q.relevant.items() if d in ids}
        if relevant or not q.relevant:
            out.append(EvalQuery(q.id, q.text, relevant))
    return out
