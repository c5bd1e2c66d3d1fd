"""Vectors cached by content hash, so re-ingesting unchanged text never re-embeds it (embedding is the slow part)."""
from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np


def content_key(kind: str, text: str) -> str:
    return hashlib.sha256(f"{kind}\x00{text}".encode("utf-8")).hexdigest()


class EmbeddingCache:
    """One SQLite file per embedder: key (sha256 of kind + text) → float32 vector bytes."""

    def __init__(self, path: Path, dim: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self._dim = dim
        self._lock = threading.Lock()

    def get_many(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start:start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({marks})", chunk)
                found.update({k: np.frombuffer(v, dtype=np.float32) for k, v in rows})
        return found

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        with self._lock, self._db:
            self._db.executemany(
                "INSERT OR REPLACE INTO vectors (key, vector) VALUES (?, ?)",
                [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in items.items()],
            )

    def embed(
        self,
        kind: str,
        texts: Sequence[str],
        embed_fn: Callable[[Sequence[str]], np.ndarray],
        batch_size: int = 32,
        progress: Callable[[int, int], None] | None = None,
    ) -> tuple[np.ndarray, int]:
        """Vectors for texts, computing only the missing ones. Returns (matrix, number newly embedded)."""
        keys = [content_key(kind, t) for t in texts]
        known = self.get_many(list(dict.fromkeys(keys)))
        missing = list(dict.fromkeys(k_t for k_t in zip(keys, texts) if k_t[0] not in known))
        for start in range(0, len(missing), batch_size):
            batch = missing[start:start + batch_size]
            vectors = embed_fn([t for _, t in batch])
            fresh = {k: v for (k, _), v in zip(batch, vectors)}
            self.put_many(fresh)
            known.update(fresh)
            if progress:
                progress(min(start + batch_size, len(missing)), len(missing))
        matrix = np.stack([known[k] for k in keys]) if keys else np.zeros((0, self._dim), np.float32)
        return matrix.astype(np.float32), len(missing)

    def close(self) -> None:
        self._db.close()
