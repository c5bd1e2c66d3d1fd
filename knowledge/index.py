"""The per-tenant hybrid index: Japanese BM25 (whole text and titles) + dense vectors (titles and title+body head).

An index lives in its own directory per tenant (data_dir/index/<tenant>/), so one municipality's knowledge never
mixes with another's. Search returns every run's rank and score per candidate: fusion ranks with them and the
confidence model learns from them.
"""
from __future__ import annotations

import hashlib
import json
import logging
import math
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Collection, Iterable, Sequence

import bm25s
import numpy as np

from knowledge.documents import SourceDocument
from knowledge.embedcache import EmbeddingCache
from knowledge.embedder import Embedder
from knowledge.fusion import FusionConfig, top_indices, weighted_rrf
from knowledge.text import SYNONYM_PREFIX, JapaneseTokenizer
from knowledge.variants import NO_VARIANT, VariantIndex

INDEX_FORMAT = 3  # 3: Sudachi normalized forms and synonym groups as lexical terms

# bm25s logs every index build at DEBUG through its own handler: keep service logs readable.
logging.getLogger("bm25s").setLevel(logging.WARNING)


# The lexical run of the question expanded by pseudo-relevance feedback (`with_feedback`): recorded for the re-ranker,
# not fused.
FEEDBACK_RUN = "bm25_feedback"


@dataclass(frozen=True)
class FeedbackConfig:
    """Pseudo-relevance feedback: the question's words (counted `query_weight` times) plus the `terms` words most
    shared by its first `documents` fused candidates."""

    documents: int = 5
    terms: int = 10
    query_weight: int = 2

    @classmethod
    def from_dict(cls, data: dict | None) -> "FeedbackConfig | None":
        """None (no feedback run) when the section is absent or switched off."""
        if not data or data.get("enabled") is False:
            return None
        return cls(int(data.get("documents", 5)), int(data.get("terms", 10)), int(data.get("query_weight", 2)))


class IndexFormatError(RuntimeError):
    """The index on disk was written by another version of the index format."""


@dataclass
class Hit:
    """One fused candidate with every signal that produced it."""

    doc: SourceDocument
    score: float  # the final score: P(relevant) once re-ranked, else the fused score
    rank: int  # 1-based final rank
    fused: float = 0.0  # weighted reciprocal-rank fusion score
    ranks: dict[str, int] = field(default_factory=dict)  # per run; absent = outside that run's candidates
    scores: dict[str, float] = field(default_factory=dict)  # raw score per run (bm25 or cosine)
    terms: list[str] | None = None  # the document's lexical terms (for query-term coverage)
    title_terms: list[str] | None = None

    def __deepcopy__(self, memo: dict) -> "Hit":
        # Haystack deep-copies every component input; a hit is passed along, not shared, so copying its document
        # and term lists on every step would only cost time (≈6 ms a query).
        return self


@dataclass
class SearchResult:
    query: str
    hits: list[Hit]
    query_terms: list[str]
    timings_ms: dict[str, float] = field(default_factory=dict)


@dataclass
class BuildReport:
    documents: int
    embedded_new: int
    seconds: float
    seconds_embedding: float
    index_version: str


def _body_text(doc: SourceDocument, body_chars: int) -> str:
    return f"{doc.title}\n{doc.body[:body_chars]}"


class TenantIndex:
    def __init__(
        self,
        tenant: str,
        docs: list[SourceDocument],
        tokens_full: list[list[str]],
        tokens_title: list[list[str]],
        title_vectors: np.ndarray,
        body_vectors: np.ndarray,
        title_query_vectors: np.ndarray,
        manifest: dict,
    ) -> None:
        self.tenant = tenant
        self.docs = docs
        self.tokens_full = tokens_full
        self.tokens_title = tokens_title
        self.title_vectors = title_vectors
        self.body_vectors = body_vectors
        # Titles embedded as questions too: question-to-question similarity is a strong sign of a paraphrase.
        self.title_query_vectors = title_query_vectors
        self.manifest = manifest
        self._bm25_full = _bm25(tokens_full)
        self._bm25_title = _bm25(tokens_title)
        self._by_id = {d.doc_id: i for i, d in enumerate(docs)}
        self._document_frequency = Counter(term for terms in tokens_full for term in set(terms))
        # Reviewed questions, when the tenant uses them (knowledge/variants.py): never documents, never cited.
        self.variants: VariantIndex | None = None

    @property
    def version(self) -> str:
        return self.manifest["index_version"]

    def __len__(self) -> int:
        return len(self.docs)

    def document(self, doc_id: str) -> SourceDocument | None:
        idx = self._by_id.get(doc_id)
        return self.docs[idx] if idx is not None else None

    def term_weights(self, terms: Iterable[str]) -> dict[str, float]:
        """Inverse document frequency of each term in this index (rare words say more about what is asked)."""
        return {t: self._idf(t) for t in set(terms)}

    # --- search -----------------------------------------------------------------------------------------------
    def run_scores(self, query_terms: list[str], query_vector: np.ndarray,
                   leave_out: Collection[str] = ()) -> dict[str, np.ndarray]:
        """Raw scores of every run over every document. `leave_out`: question keys of variants not to use (a
        labelled question is measured without its own mark)."""
        runs = {
            "bm25_full": self._lexical(self._bm25_full, query_terms),
            "bm25_title": self._lexical(self._bm25_title, query_terms),
            "dense_title": self.title_vectors @ query_vector,
            "dense_body": self.body_vectors @ query_vector,
            "dense_title_sym": self.title_query_vectors @ query_vector,
        }
        if self.variants is not None and len(self.variants):
            variant = self.variants.scores(self._by_id, len(self.docs), query_vector, leave_out)
            runs["dense_variant"] = variant
            # A reviewed question is one more way of asking the document, as its title is: the question-to-title
            # signal takes the closer of the two.
            runs["dense_title_sym"] = np.maximum(runs["dense_title_sym"], variant)
        return runs

    def search_runs(self, query_terms: list[str], query_vector: np.ndarray, fusion: FusionConfig, candidates: int,
                    feedback: FeedbackConfig | None, leave_out: Collection[str] = ()) -> dict[str, np.ndarray]:
        """Every run a search records: `run_scores`, then the feedback run read from their fused candidates."""
        runs = self.run_scores(query_terms, query_vector, leave_out)
        return self.with_feedback(runs, query_terms, fusion, candidates, feedback)

    def with_feedback(self, run_scores: dict[str, np.ndarray], query_terms: list[str], fusion: FusionConfig,
                      candidates: int, feedback: FeedbackConfig | None) -> dict[str, np.ndarray]:
        """The runs plus FEEDBACK_RUN: BM25 of the question with the rare words its first fused candidates share.
        A candidate that shares the vocabulary of the candidates the runs agree on is more likely on topic (on the
        LocalgovFAQ dev split, as a re-ranker signal: MRR@10 +0.02 with and without question variants)."""
        if feedback is None or not query_terms:
            return run_scores
        _, ordered = self._fused(run_scores, fusion, candidates)
        top_rows = [idx for idx, _ in ordered[:feedback.documents]]
        expanded = list(query_terms) * feedback.query_weight + self._shared_terms(top_rows, query_terms, feedback.terms)
        return {**run_scores, FEEDBACK_RUN: self._lexical(self._bm25_full, expanded)}

    def _shared_terms(self, rows: Sequence[int], query_terms: Collection[str], n: int) -> list[str]:
        """The n words the rows' documents share most, each counted once per document and weighted by its rarity;
        the question's own words and synonym-group terms left out."""
        asked = set(query_terms)
        weight: Counter[str] = Counter()
        for row in rows:
            for term in set(self.tokens_full[row]) - asked:
                if not term.startswith(SYNONYM_PREFIX):
                    weight[term] += self._idf(term)
        return [term for term, _ in weight.most_common(n)]

    def _idf(self, term: str) -> float:
        return math.log1p(len(self.docs) / (1 + self._document_frequency.get(term, 0)))

    def _lexical(self, model: bm25s.BM25 | None, terms: list[str]) -> np.ndarray:
        if model is None or not terms:
            return np.zeros(len(self.docs), dtype=np.float32)
        return np.asarray(model.get_scores(terms), dtype=np.float32)

    @staticmethod
    def best_scores(run_scores: dict[str, np.ndarray]) -> dict[str, float]:
        return {run: float(scores.max()) if scores.size else 0.0 for run, scores in run_scores.items()}

    def fuse(
        self, run_scores: dict[str, np.ndarray], fusion: FusionConfig, candidates: int, top_k: int
    ) -> list[Hit]:
        rankings, ordered = self._fused(run_scores, fusion, candidates)
        best = ordered[:top_k]
        rank_of = {run: {int(i): r for r, i in enumerate(order.tolist(), start=1)} for run, order in rankings.items()}
        return [
            Hit(
                doc=self.docs[idx], score=score, rank=pos, fused=score,
                ranks={run: rank_of[run][idx] for run in rankings if idx in rank_of[run]},
                scores={run: float(run_scores[run][idx]) for run in run_scores},
                terms=self.tokens_full[idx],
                title_terms=self.tokens_title[idx],
            )
            for pos, (idx, score) in enumerate(best, start=1)
        ]

    def _fused(self, run_scores: dict[str, np.ndarray], fusion: FusionConfig,
               candidates: int) -> tuple[dict[str, np.ndarray], list[tuple[int, float]]]:
        """Each run's candidate order, and every candidate (row, fused score), best first."""
        rankings = {run: self._run_order(run, scores, candidates) for run, scores in run_scores.items()}
        fused = weighted_rrf(rankings, fusion)
        return rankings, sorted(fused.items(), key=lambda kv: -kv[1])

    @staticmethod
    def _run_order(run: str, scores: np.ndarray, candidates: int) -> np.ndarray:
        order = top_indices(scores, candidates)
        if run.startswith("bm25"):
            order = order[scores[order] > 0]  # a lexical run with no matching term has no opinion
        elif run == "dense_variant":
            order = order[scores[order] > NO_VARIANT]  # documents nobody asked for are not ranked by it
        return order

    # --- persistence ------------------------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        # A private scratch directory: two processes saving the same index must not write into each other's files.
        tmp = Path(tempfile.mkdtemp(prefix=".tmp-", dir=directory))
        with (tmp / "documents.jsonl").open("w", encoding="utf-8") as out:
            for doc, full, title in zip(self.docs, self.tokens_full, self.tokens_title):
                out.write(json.dumps({"doc": doc.to_dict(), "full": full, "title": title}, ensure_ascii=False) + "\n")
        np.save(tmp / "title_vectors.npy", self.title_vectors)
        np.save(tmp / "body_vectors.npy", self.body_vectors)
        np.save(tmp / "title_query_vectors.npy", self.title_query_vectors)
        (tmp / "manifest.json").write_text(json.dumps(self.manifest, ensure_ascii=False, indent=1), encoding="utf-8")
        # Swap files in only when all are written (manifest last: readers key on it), so a reader never sees
        # half an index.
        for item in sorted(tmp.iterdir(), key=lambda p: p.name == "manifest.json"):
            item.replace(directory / item.name)
        tmp.rmdir()

    @classmethod
    def load(cls, directory: Path) -> "TenantIndex":
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        if manifest.get("format") != INDEX_FORMAT:
            raise IndexFormatError(f"{directory} was built by an older version: re-run `madoguchi ingest`")
        docs, full, title = [], [], []
        with (directory / "documents.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                docs.append(SourceDocument.from_dict(row["doc"]))
                full.append(_interned(row["full"]))  # row by row: each row's own copies are freed at once
                title.append(_interned(row["title"]))
        return cls(
            manifest["tenant"], docs, full, title,
            np.load(directory / "title_vectors.npy"), np.load(directory / "body_vectors.npy"),
            np.load(directory / "title_query_vectors.npy"), manifest,
        )


def index_is_current(directory: Path) -> bool:
    """An index is on disk and was written by this index format."""
    manifest = directory / "manifest.json"
    if not manifest.exists():
        return False
    try:
        return json.loads(manifest.read_text(encoding="utf-8")).get("format") == INDEX_FORMAT
    except (OSError, ValueError):
        return False


def _interned(terms: list[str]) -> list[str]:
    """The same term held once in memory: a tenant's ~600k terms are ~9k distinct words, and a string per
    occurrence (as JSON loading and the tokeniser make them) costs ~20 MB an index."""
    return [sys.intern(term) for term in terms]


def _bm25(corpus_tokens: list[list[str]]) -> bm25s.BM25 | None:
    if not any(corpus_tokens):
        return None
    model = bm25s.BM25()
    # bm25s needs at least one token per document to build its vocabulary.
    model.index([tokens or ["\x00"] for tokens in corpus_tokens], show_progress=False)
    return model


def build_index(
    tenant: str,
    docs: Sequence[SourceDocument],
    tokenizer: JapaneseTokenizer,
    embedder: Embedder,
    cache: EmbeddingCache,
    body_chars: int = 128,
    progress: Callable[[str, int, int], None] | None = None,
    reuse: TenantIndex | None = None,
) -> tuple[TenantIndex, BuildReport]:
    """`reuse`: an index whose unchanged passages keep their lexical terms (a website sync changes a few pages of
    thousands; tokenising is then most of the rebuild). A full ingest passes none and tokenises everything."""
    started = time.perf_counter()
    docs = _unique(docs)
    known = _known_terms(reuse, tokenizer)
    terms = [known.get(d.content_hash()) or (tokenizer.search_terms(f"{d.title}\n{d.body}"),
                                            tokenizer.search_terms(d.title)) for d in docs]
    tokens_full, tokens_title = [_interned(full) for full, _ in terms], [_interned(title) for _, title in terms]
    embed_started = time.perf_counter()
    title_vectors, new_titles = cache.embed(
        f"{embedder.name}:passage", [d.title for d in docs], embedder.embed_passages,
        progress=_stage(progress, "titles"),
    )
    body_vectors, new_bodies = cache.embed(
        f"{embedder.name}:passage", [_body_text(d, body_chars) for d in docs], embedder.embed_passages,
        progress=_stage(progress, "bodies"),
    )
    title_query_vectors, new_title_queries = cache.embed(
        f"{embedder.name}:query", [d.title for d in docs], embedder.embed_queries,
        progress=_stage(progress, "titles as questions"),
    )
    embedding_seconds = time.perf_counter() - embed_started
    manifest = {
        "format": INDEX_FORMAT,
        "tenant": tenant,
        "documents": len(docs),
        "embedder": embedder.name,
        "tokenizer": tokenizer.version,
        "body_chars": body_chars,
        "index_version": _version(docs, embedder.name, tokenizer.version, body_chars),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sources": _source_summary(docs),
    }
    index = TenantIndex(tenant, docs, tokens_full, tokens_title, title_vectors, body_vectors, title_query_vectors,
                        manifest)
    report = BuildReport(len(docs), new_titles + new_bodies + new_title_queries, time.perf_counter() - started,
                         embedding_seconds, manifest["index_version"])
    return index, report


def _known_terms(index: TenantIndex | None, tokenizer: JapaneseTokenizer) -> dict[str, tuple[list[str], list[str]]]:
    if index is None or index.manifest.get("tokenizer") != tokenizer.version:
        return {}
    return {doc.content_hash(): (full, title)
            for doc, full, title in zip(index.docs, index.tokens_full, index.tokens_title, strict=True)}


def _unique(docs: Iterable[SourceDocument]) -> list[SourceDocument]:
    """Last one wins for a repeated doc_id (a re-ingested row replaces its earlier self)."""
    by_id: dict[str, SourceDocument] = {}
    for doc in docs:
        by_id[doc.doc_id] = doc
    return list(by_id.values())


def _stage(progress: Callable[[str, int, int], None] | None, name: str) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    return lambda done, total: progress(name, done, total)


def _version(docs: Sequence[SourceDocument], *parts: object) -> str:
    digest = hashlib.sha256("|".join(map(str, parts)).encode())
    for doc in docs:
        digest.update(doc.doc_id.encode() + b"\x00" + doc.content_hash().encode())
    return digest.hexdigest()[:16]


def _source_summary(docs: Sequence[SourceDocument]) -> list[dict]:
    summary: dict[str, dict] = {}
    for doc in docs:
        entry = summary.setdefault(doc.source, {
            "source": doc.source, "documents": 0, "as_of": doc.as_of, "licence": doc.licence,
            "attribution": doc.attribution, "url": doc.url,
        })
        entry["documents"] += 1
    return list(summary.values())
