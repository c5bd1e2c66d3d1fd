"""The retrieval components, run in their graph's order without Haystack's deep copies: the same outputs as
`Pipeline.run`, on the small city's index."""
from __future__ import annotations

from typing import Any

import pytest
from haystack import Pipeline, component

from knowledge.components import build_retrieval_pipeline, run_in_order
from knowledge.confidence import ConfidenceModel
from knowledge.fusion import FusionConfig
from knowledge.rerank import Reranker
from knowledge.text import get_tokenizer


@pytest.fixture
def pipeline(index, embedder) -> Pipeline:
    return build_retrieval_pipeline(get_tokenizer(), embedder, lambda tenant: index, FusionConfig(k=10),
                                    Reranker.load(), ConfidenceModel.load(), candidates_per_run=20)


def inputs(query: str) -> dict[str, dict[str, Any]]:
    return {"analyze": {"query": query}, "retrieve": {"tenant": "t1", "depth": 5}, "rerank": {"top_k": 3},
            "confidence": {"tenant": "t1"}}


@pytest.mark.parametrize("query", ["住民票はコンビニで取れますか", "粗大ごみの出し方", "zzzz"])
def test_every_component_gives_what_pipeline_run_gives(pipeline, query):
    ours = run_in_order(pipeline, inputs(query))
    theirs = pipeline.run(inputs(query), include_outputs_from=set(ours))
    assert set(ours) == set(theirs) == {"analyze", "retrieve", "rerank", "confidence", "documents"}
    assert ours["analyze"]["terms"] == theirs["analyze"]["terms"]
    assert [(h.doc.doc_id, h.score) for h in ours["confidence"]["hits"]] == \
           [(h.doc.doc_id, h.score) for h in theirs["confidence"]["hits"]]
    assert ours["confidence"]["confidence"] == theirs["confidence"]["confidence"]
    assert [d.id for d in ours["documents"]["documents"]] == [d.id for d in theirs["documents"]["documents"]]


def test_a_component_added_to_the_graph_is_run_after_its_senders(pipeline):
    @component
    class TitlesOf:
        @component.output_types(titles=list)
        def run(self, documents: list) -> dict[str, Any]:
            return {"titles": [d.meta["title"] for d in documents]}

    pipeline.add_component("titles", TitlesOf())
    pipeline.connect("documents.documents", "titles.documents")
    out = run_in_order(pipeline, inputs("犬の登録"))
    assert out["titles"]["titles"] == [h.doc.title for h in out["confidence"]["hits"]]


def test_a_pipeline_with_a_loop_is_left_to_pipeline_run():
    @component
    class Echo:
        @component.output_types(text=str)
        def run(self, text: str) -> dict[str, Any]:
            return {"text": text}

    looped = Pipeline()
    looped.add_component("a", Echo())
    looped.add_component("b", Echo())
    looped.connect("a.text", "b.text")
    looped.connect("b.text", "a.text")
    with pytest.raises(ValueError, match="without loops"):
        run_in_order(looped, {})
