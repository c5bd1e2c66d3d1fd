"""Index versions shared through the database: instances serve the published version and swap to a new one
while answering, with no failed or waiting turn; a turn reads one version from start to end."""
from __future__ import annotations

import threading
import time

import pytest

from config.settings import Settings
from knowledge import knowledge_base
from knowledge.embedcache import EmbeddingCache
from knowledge.index import build_index
from knowledge.knowledge_base import KnowledgeBase
from knowledge.publication import PublishedVersions, publish, snapshot_dir
from knowledge.text import get_tokenizer
from storage import index_version_history
from tests.knowledge.helpers import CITY_DOCS, CharGramEmbedder, doc

NEW_DOC = doc("6", "マイナンバーカードの受け取り", "マイナンバーカードは市民課で受け取れます。予約してください。")


@pytest.fixture
def embedder(monkeypatch):
    embedder = CharGramEmbedder()
    monkeypatch.setattr(knowledge_base, "get_embedder", lambda *args, **kwargs: embedder)
    return embedder


@pytest.fixture
def settings(tmp_path):
    return Settings(data_dir=tmp_path / "data", index_source="published", index_poll_s=0.05)


def build(docs, embedder, settings):
    cache = EmbeddingCache(settings.data_dir / "cache.sqlite", embedder.dim)
    try:
        return build_index("t1", docs, get_tokenizer(), embedder, cache)[0]
    finally:
        cache.close()


def instance(db, settings) -> KnowledgeBase:
    return KnowledgeBase(settings, published=PublishedVersions(db, settings))


def test_the_newest_publication_is_current_and_an_older_one_published_again_rolls_back(db, settings, embedder):
    old, new = build(CITY_DOCS, embedder, settings), build(CITY_DOCS + [NEW_DOC], embedder, settings)
    versions = PublishedVersions(db, settings)
    assert versions.current("t1") is None
    publish(db, settings, old, "test")
    published = publish(db, settings, new, "test")
    assert versions.current("t1") == published
    assert (published.directory / "manifest.json").exists()
    assert published.directory == snapshot_dir(settings, "t1", new.version)
    publish(db, settings, old, "rollback")
    assert versions.current("t1").version == old.version
    with db.read() as conn:
        assert [r.version for r in index_version_history(conn, "t1")] == [old.version, new.version, old.version]


def test_every_instance_serves_the_published_version_not_its_own_directory(db, settings, embedder):
    directory_copy = build(CITY_DOCS, embedder, settings)
    directory_copy.save(settings.index_dir / "t1")  # what a single instance would serve
    published = build(CITY_DOCS + [NEW_DOC], embedder, settings)
    first, second = instance(db, settings), instance(db, settings)
    assert first.index("t1").version == directory_copy.version  # nothing published yet: the directory's
    publish(db, settings, published, "test")
    assert first.refresh("t1").version == second.refresh("t1").version == published.version
    assert first.index("t1").version == second.index("t1").version == published.version


def test_a_running_turn_keeps_the_version_it_started_with(db, settings, embedder):
    old, new = build(CITY_DOCS, embedder, settings), build(CITY_DOCS + [NEW_DOC], embedder, settings)
    publish(db, settings, old, "test")
    kb = instance(db, settings)
    with kb.pinned("t1") as index:
        publish(db, settings, new, "test")
        kb.refresh("t1")
        assert index.version == old.version
        assert kb.index("t1") is index and kb.retrieve("t1", "マイナンバーカード").index_version == old.version
    assert kb.index("t1").version == new.version


@pytest.mark.timeout(60)
def test_a_version_published_under_load_is_swapped_in_with_no_failed_or_stalled_retrieval(db, settings, embedder):
    old = build(CITY_DOCS, embedder, settings)
    new = build(CITY_DOCS + [NEW_DOC], embedder, settings)
    publish(db, settings, old, "test")
    kb = instance(db, settings)
    kb.index("t1")
    seen: list[tuple[int, float, str, float]] = []  # (asker, when, version, seconds)
    failures: list[BaseException] = []
    stop = threading.Event()

    def ask(n: int) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                result = kb.retrieve("t1", f"マイナンバーカードの受け取り {n % 3}")
            except BaseException as exc:  # noqa: BLE001 - the test counts every failure
                failures.append(exc)
                continue
            seen.append((n, started, result.index_version, time.perf_counter() - started))

    threads = [threading.Thread(target=ask, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    published_at = time.perf_counter()
    publish(db, settings, new, "test")
    deadline = time.monotonic() + 20
    def swapped() -> set[int]:
        return {n for n, _, version, _ in list(seen) if version == new.version}

    while swapped() != {0, 1, 2, 3} and time.monotonic() < deadline:  # every asker has seen the new version
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    assert failures == []
    assert {version for *_, version, _ in seen} == {old.version, new.version}
    for asker in range(4):
        versions = [version for n, _, version, _ in seen if n == asker]
        # Each asker sees the old version, then the new one, never the old again.
        assert versions == sorted(versions, key=lambda v: v == new.version) and versions[-1] == new.version
    assert min(when for _, when, version, _ in seen if version == new.version) > published_at
    assert max(seconds for *_, seconds in seen) < 5  # the load ran aside: nobody waited for it
