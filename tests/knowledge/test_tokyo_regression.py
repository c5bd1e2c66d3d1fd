"""The templated Tokyo questions (tokyo-eval/dev-templated.jsonl): the evidence row is found for most of them.
Real residents phrase things less tidily; this guards the structured-data ingestion, not wording."""
import json

import pytest

pytestmark = pytest.mark.shared


def test_templated_tokyo_questions_find_their_evidence(knowledge_base, shared_dir):
    rows = [json.loads(line) for line in (shared_dir / "data" / "tokyo-eval" / "dev-templated.jsonl").open()]
    found = 0
    for row in rows:
        hits = knowledge_base.retrieve("tokyo", row["question"], top_k=10).hits
        found += any(str(row["gold_answer"]) in f"{h.doc.title}\n{h.doc.body}" for h in hits[:5])
    assert found / len(rows) >= 0.8
