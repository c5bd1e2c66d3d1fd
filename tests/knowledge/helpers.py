"""Small real parts for knowledge tests: a deterministic character-n-gram embedder (no model needed)."""
from __future__ import annotations

import hashlib
from typing import Sequence

import numpy as np

from knowledge.documents import SourceDocument


class CharGramEmbedder:
    """Hashes character bigrams into a normalised vector: similar strings get similar vectors."""

    name = "test-chargram"
    dim = 64

    def __init__(self) -> None:
        self.calls = 0

    def _embed(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for i in range(max(len(text) - 1, 1)):
                bucket = int(hashlib.md5(text[i:i + 2].encode()).hexdigest(), 16) % self.dim
                out[row, bucket] += 1.0
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def embed_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts)


def doc(doc_id: str, title: str, body: str, tenant: str = "t1", **extra) -> SourceDocument:
    return SourceDocument(doc_id=doc_id, tenant=tenant, title=title, body=body, source="テスト資料",
                          url=f"https://example.city.jp/{doc_id}", as_of="2024", **extra)


CITY_DOCS = [
    doc("1", "住民票の写しを取りたい", "住民票の写しは市民課の窓口、コンビニ交付、郵送で請求できます。手数料は300円です。"),
    doc("2", "ごみの分別方法を知りたい", "燃やすごみは週2回、資源ごみは週1回収集します。ゴミは朝8時までに出してください。"),
    doc("3", "児童手当の申請方法", "児童手当は子ども家庭課で申請します。出生や転入の翌日から15日以内に申請してください。"),
    doc("4", "犬の登録について", "生後91日以上の犬は保健所で登録し、毎年狂犬病予防注射を受けさせてください。"),
    doc("5", "粗大ごみの出し方", "粗大ごみは電話またはインターネットで申し込み、処理券を貼って出してください。"),
]
