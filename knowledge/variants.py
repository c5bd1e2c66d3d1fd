"""Learned question variants: questions a reviewer marked with their right source, indexed as more ways of asking
that document.

A municipality's reviewed questions (the review page's "right source" marks, or a labelled file) say how its
residents really ask for each document. They are embedded as questions and kept in a file of their own next to
the tenant's index, apart from the official text: a variant is never shown as an answer and never cited, it only
raises its document. Search scores every document by its closest variant (cosine of the two questions, both
embedded as questions: 1.0 means the same question was reviewed before); that score joins the question-to-title
run (the title of an FAQ entry is itself a question), and a run of its own brings documents into the candidates
that the official text alone would miss.

A tenant switches them on in its YAML (`question_variants: {labelled: [...], review_marks: true}`); a new city
without reviews has none, and search is exactly what it was.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Collection, Iterable, Mapping, Sequence

import numpy as np

from knowledge.embedcache import EmbeddingCache
from knowledge.embedder import Embedder
from knowledge.evaluation import EvalQuery
from knowledge.text import normalise

VARIANTS_FILE = "variants.jsonl"
VECTORS_FILE = "variant_vectors.npy"
ANSWER_GRADE = 2  # only a source that answers the question teaches a way of asking it
NO_VARIANT = -1.0  # the score of a document nobody asked for (below any cosine of two real questions)


def question_key(text: str) -> str:
    """Two questions that differ only in width, case or spacing are the same question."""
    return "".join(normalise(text).split())


@dataclass(frozen=True)
class QuestionVariant:
    doc_id: str
    question: str
    origin: str  # where the reviewer's mark came from (labelled file line, review mark id)

    def to_dict(self) -> dict[str, str]:
        return {"doc_id": self.doc_id, "question": self.question, "origin": self.origin}


class VariantIndex:
    """A tenant's variants and their question vectors; scores documents by their closest variant."""

    def __init__(self, variants: Sequence[QuestionVariant], vectors: np.ndarray) -> None:
        if len(variants) != len(vectors):
            raise ValueError(f"{len(variants)} variants but {len(vectors)} vectors")
        self.variants = list(variants)
        self.vectors = np.asarray(vectors, dtype=np.float32).reshape(len(variants), -1)
        self._keys = [question_key(v.question) for v in self.variants]
        digest = hashlib.sha256("\x00".join(f"{v.doc_id}\x01{v.question}" for v in self.variants).encode())
        self.version = digest.hexdigest()[:16]  # which variants a cached retrieval was searched with

    def __len__(self) -> int:
        return len(self.variants)

    def scores(self, doc_rows: Mapping[str, int], n_docs: int, query_vector: np.ndarray,
               leave_out: Collection[str] = ()) -> np.ndarray:
        """Per document (row order of the index), the cosine of the question with its closest variant;
        NO_VARIANT for documents without one. `leave_out`: question keys not to use (a labelled question is
        never scored against its own mark when the labels are measured)."""
        best = np.full(n_docs, NO_VARIANT, dtype=np.float32)
        if not self.variants:
            return best
        cosines = self.vectors @ np.asarray(query_vector, dtype=np.float32).reshape(-1)
        for variant, key, cosine in zip(self.variants, self._keys, cosines.tolist()):
            row = doc_rows.get(variant.doc_id)
            if row is not None and key not in leave_out and cosine > best[row]:
                best[row] = cosine
        return best

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        tmp_rows, tmp_vectors = directory / f".{VARIANTS_FILE}.tmp", directory / f".{VECTORS_FILE}.tmp.npy"
        with tmp_rows.open("w", encoding="utf-8") as out:
            for variant in self.variants:
                out.write(json.dumps(variant.to_dict(), ensure_ascii=False) + "\n")
        np.save(tmp_vectors, self.vectors)
        tmp_vectors.replace(directory / VECTORS_FILE)
        tmp_rows.replace(directory / VARIANTS_FILE)  # last: its mtime says the pair is complete

    @classmethod
    def load(cls, directory: Path) -> "VariantIndex | None":
        rows_path, vectors_path = directory / VARIANTS_FILE, directory / VECTORS_FILE
        if not rows_path.exists() or not vectors_path.exists():
            return None
        with rows_path.open(encoding="utf-8") as handle:
            variants = [QuestionVariant(**json.loads(line)) for line in handle if line.strip()]
        vectors = np.load(vectors_path)
        if len(vectors) != len(variants):
            return None  # written half-way by a process that died: search without variants until rebuilt
        return cls(variants, vectors)

    @staticmethod
    def remove(directory: Path) -> None:
        for name in (VARIANTS_FILE, VECTORS_FILE):
            (directory / name).unlink(missing_ok=True)


def variants_from_labels(queries: Iterable[EvalQuery], doc_ids: Collection[str], origin: str) -> list[QuestionVariant]:
    """One variant per (question, document that answers it); documents no longer in the index are dropped, and
    a question is kept once per document however often it was marked."""
    seen: set[tuple[str, str]] = set()
    out = []
    for query in queries:
        for doc_id, grade in query.relevant.items():
            key = (doc_id, question_key(query.text))
            if grade < ANSWER_GRADE or doc_id not in doc_ids or key in seen or not query.text.strip():
                continue
            seen.add(key)
            out.append(QuestionVariant(doc_id, query.text, f"{origin}:{query.id}"))
    return out


def embed_variants(variants: Sequence[QuestionVariant], embedder: Embedder, cache: EmbeddingCache) -> VariantIndex:
    """Variants embedded as questions (the same kind of text as a resident's message), through the shared cache."""
    vectors, _ = cache.embed(f"{embedder.name}:query", [v.question for v in variants], embedder.embed_queries)
    return VariantIndex(variants, vectors.reshape(len(variants), embedder.dim))


def variant_options(tenant_raw: Mapping[str, Any]) -> dict[str, Any] | None:
    """The tenant's `question_variants` section, or None when the tenant has them off (the default)."""
    options = tenant_raw.get("question_variants")
    if not options or (isinstance(options, Mapping) and options.get("enabled") is False):
        return None
    return dict(options) if isinstance(options, Mapping) else {}
