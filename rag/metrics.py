"""Retrieval metrics over ranked document ids, as BEIR/pytrec_eval compute them.

`run` maps a query id to its ranked document ids, `qrels` maps a query id to
{document id: relevance}. Queries without relevant documents are left out.
"""

from __future__ import annotations

import math


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    wanted = {d for d, r in relevant.items() if r > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    for i, d in enumerate(ranked[:k]):
        if relevant.get(d, 0) > 0:
            return 1 / (i + 1)
    return 0.0


def evaluate(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, Recall@10, Recall@100 and MRR@10 over the judged queries of `run`."""
    judged = [q for q in run if any(r > 0 for r in qrels.get(q, {}).values())]
    if not judged:
        raise ValueError("no query of the run has a relevant document in the qrels")

    def mean(metric, k):
        return sum(metric(run[q], qrels[q], k) for q in judged) / len(judged)

    return {"ndcg@10": mean(ndcg_at, 10), "recall@10": mean(recall_at, 10),
            "recall@100": mean(recall_at, 100), "mrr@10": mean(mrr_at, 10), "queries": len(judged)}
