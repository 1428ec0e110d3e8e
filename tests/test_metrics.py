import math

import pytest

from rag.metrics import evaluate, mrr_at, ndcg_at, recall_at

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
    from rag.evaluate import read_qrels

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
