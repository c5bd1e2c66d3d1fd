"""A small city's index on the character-gram embedder, for the index and variant tests (a module that needs another
embedder defines its own fixture of that name)."""
import pytest

from knowledge.embedcache import EmbeddingCache
from knowledge.index import build_index
from knowledge.text import get_tokenizer
from tests.knowledge.helpers import CITY_DOCS, CharGramEmbedder


@pytest.fixture
def embedder():
    return CharGramEmbedder()


@pytest.fixture
def cache(tmp_path, embedder):
    cache = EmbeddingCache(tmp_path / "cache.sqlite", embedder.dim)
    yield cache
    cache.close()


@pytest.fixture
def index(embedder, cache):
    built, _ = build_index("t1", CITY_DOCS, get_tokenizer(), embedder, cache)
    return built
