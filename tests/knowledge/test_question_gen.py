"""Questions generated from a tenant's own documents (calibration labels where a tenant has none)."""
import pytest

from knowledge.question_gen import generate_questions

pytestmark = pytest.mark.shared


@pytest.mark.parametrize("tenant", ["amagasaki", "tokyo"])
def test_generated_questions_are_new_text_labelled_with_their_document(knowledge_base, tenant):
    index = knowledge_base.index(tenant)
    questions = generate_questions(index, knowledge_base.tokenizer, 60)
    assert len(questions) == 60 and len({q.id for q in questions}) == 60
    for q in questions:
        (doc_id, grade), = q.relevant.items()
        document = index.document(doc_id)
        assert grade == 2 and document is not None
        assert q.text and q.text != document.title and q.text not in document.body  # kept apart from the index text
    assert generate_questions(index, knowledge_base.tokenizer, 60) == questions  # seeded: the same every run


def test_most_generated_questions_find_their_document(knowledge_base):
    questions = generate_questions(knowledge_base.index("tokyo"), knowledge_base.tokenizer, 60)
    found = sum(any(h.doc.doc_id in q.relevant for h in knowledge_base.retrieve("tokyo", q.text).hits[:10])
                for q in questions)
    assert found / len(questions) >= 0.8
