"""Query-time caches: the embedding of a question and the retrieval it produced, bounded in memory.

Repeated questions are common at a city counter, and the embedding is most of a turn's cost. A question's vector
depends only on its (normalised) text and the embedder, so it is cached by those; a retrieval also depends on the
index, so it is cached by tenant, index version and text, and a new index version simply stops matching the old
entries (the bound evicts them).
"""
from __future__ import annotations

import unicodedata
from typing import Sequence

import numpy as np

from core.text import collapse_whitespace
from knowledge.embedder import Embedder
from knowledge.lru import BoundedCache

# More texts than this in one call are a bulk job (intent examples, an insight build): not a resident's question,
# and caching them would only push the questions out.
QUERY_CALL_MAX_TEXTS = 4


def cache_text(text: str) -> str:
    """The cache key of a question: NFKC, whitespace collapsed (the turn's own normaliser already did both, so a
    turn's text is its own key)."""
    return collapse_whitespace(unicodedata.normalize("NFKC", text))


class CachingEmbedder:
    """An Embedder whose query embeddings of single questions are remembered (LRU); passages pass through."""

    def __init__(self, inner: Embedder, max_entries: int) -> None:
        self.inner = inner
        self.name, self.dim = inner.name, inner.dim
        self.vectors: BoundedCache[np.ndarray] = BoundedCache(max_entries)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        if len(texts) > QUERY_CALL_MAX_TEXTS or self.vectors.max_entries == 0:
            return self.inner.embed_queries(texts)
        keys = [cache_text(t) for t in texts]
        found = {k: v for k in dict.fromkeys(keys) if (v := self.vectors.get(k)) is not None}
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing:
            # The normalised text is what gets embedded: a vector then depends only on its key, never on which
            # spelling of the question came first.
            for key, vector in zip(missing, self.inner.embed_queries(missing), strict=True):
                vector.setflags(write=False)  # shared by every turn that asks this
                self.vectors.put(key, vector)
                found[key] = vector
        return np.stack([found[k] for k in keys]) if keys else self.inner.embed_queries([])

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)
