import math

import pytest

from rag.evaluation.metrics import evaluate, mrr_at, ndcg_at, recall_at

LOG = math.log2


def test_ndcg_by_hand():
    # relevant at ranks 2 and 4 out of 2 relevant documents
    ranked, rel = ["a", "b", "c", "d"], {"b": 1, "d": 1}
    dcg = 1 / LOG(3) + 1 / LOG(5)
    idcg = 1 / LOG(2) + 1 / LOG(3)
    assert ndcg_at(ranked, rel, 10) == pytest.approx(dcg / idcg)
    assert ndcg_at(["b", "d"], rel, 10) == pytest.approx(1.0)
    assert ndcg_at(ranked, rel, 1) == 0.0


def test_graded_relevance_uses_linear_gain():
    assert ndcg_at(["x", "y"], {"x": 1, "y": 2}, 2) == pytest.approx((1 + 2 / LOG(3)) / (2 + 1 / LOG(3)))


def test_recall_and_mrr_by_hand():
    ranked, rel = ["a", "b", "c"], {"c": 1, "z": 1}
    assert recall_at(ranked, rel, 10) == 0.5
    assert recall_at(ranked, rel, 2) == 0.0
    assert mrr_at(ranked, rel, 10) == pytest.approx(1 / 3)
    assert mrr_at(ranked, rel, 2) == 0.0


def test_evaluate_on_a_toy_qrels_file(tmp_path):
    from rag.evaluation.data import read_qrels

    path = tmp_path / "qrels.tsv"
    path.write_text("query-id\tcorpus-id\tscore\r\nq1\td1\t1\r\nq2\td2\t1\r\nq2\td3\t1\r\nq3\td9\t0\r\n")
    qrels = read_qrels(path)
    assert qrels == {"q1": {"d1": 1}, "q2": {"d2": 1, "d3": 1}, "q3": {"d9": 0}}
    run = {"q1": ["d1", "x"], "q2": ["x", "d3"], "q3": ["d9"]}
    m = evaluate(run, qrels)
    assert m["queries"] == 2  # q3 has no relevant document
    assert m["recall@10"] == pytest.approx((1 + 0.5) / 2)
    assert m["mrr@10"] == pytest.approx((1 + 0.5) / 2)
    assert m["ndcg@10"] == pytest.approx((1 + (1 / LOG(3)) / (1 + 1 / LOG(3))) / 2)


def test_squad_normalisation_and_f1():
    from rag.evaluation.metrics import contains_answer, normalize_answer, token_f1

    assert normalize_answer("The  Norman, conquest!") == "norman conquest"
    assert token_f1("the Norman conquest of England", "Norman conquest") == pytest.approx(2 * (2 / 4) * 1 / (2 / 4 + 1))
    assert token_f1("nothing alike", "Norman") == 0.0
    assert contains_answer("It was King Charles III. [1]", ["King Charles III"])
    assert not contains_answer("Charlesworth", ["Charles"])  # whole words only


def test_qa_metrics_by_hand():
    from rag.evaluation.metrics import qa_metrics

    def row(answerable, answers, refused, text, cited, context, question="Who gave the Normans a name?"):
        return {"question": question, "answerable": answerable, "answers": answers, "refused": refused,
                "text": text, "first_citation": cited, "context_id": context}

    rows = [
        row(True, ["Rollo"], False, "Rollo did.", "c1", "c1"),  # contains; short "Rollo": F1 1; whole: 2/3
        row(True, ["1066"], True, "", None, "c2"),  # refused: F1 0
        row(True, ["Paris"], False, "It was Rome.", "c9", "c3"),  # wrong, cites another context
        row(False, [], True, "", None, "c4"),  # correct refusal: 1
        row(False, [], False, "x", "c5", "c5"),  # answered an unanswerable one: 0
    ]
    m = qa_metrics(rows)
    assert m["answer_recall"] == pytest.approx(1 / 3)
    assert m["false_refusal"] == pytest.approx(1 / 3)
    assert m["no_answer_acc"] == pytest.approx(1 / 2)
    assert m["citation_precision"] == pytest.approx(1 / 2)
    assert m["f1"] == pytest.approx(1 / 3) and m["f1_whole"] == pytest.approx((2 / 3) / 3)
    assert m["overall"] == pytest.approx((1 + 1) / 5)
    assert m["questions"] == 5


@pytest.mark.parametrize("question, answer, short", [
    ("What are two complexity classes between L and P?", "Two complexity classes between L and P are NL and NC. [1]",
     "NL and NC"),
    ("The number of new Huguenot colonists declined after what year?",
     "The number of new Huguenot colonists declined after 1700. [1]", "1700"),
    ("Who wrote the manifesto?", "Colin Hines wrote it in 2000. It argues for localization.", "Colin Hines"),
    ("What is SoULS?", "What is SoULS?", "What is SoULS?"),  # nothing new: the whole sentence
])
def test_short_answer_drops_the_question_restated(question, answer, short):
    from rag.evaluation.metrics import short_answer

    assert short_answer(question, answer) == short
