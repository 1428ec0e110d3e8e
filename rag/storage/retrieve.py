"""Hybrid retrieval: dense (FAISS, MiniLM cosine) and lexical (BM25) evidence, fused.

Vectors and text in, plain `Hit`s out. Each retriever proposes `pool` candidates; every
candidate gets its exact cosine similarity and its BM25 score; each score is standardised
over the candidates (z-score) and the two are mixed:

    fused = alpha * z(cos) + (1 - alpha) * z(bm25),   alpha = 0.6

Chosen on the SciFact train split (`python tools/tune_retrieval.py` prints the grid; the
figures are in docs/quality.md): score fusion beats reciprocal ranks, and z-scores at 0.6 sit
on the flat top. `fuse_rrf` stays for comparison (`python -m rag eval retrieval --fusion rrf`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..types import Hit
from .base import Store

ALPHA = 0.6  # weight of the dense score; tuned on the SciFact train split
POOL = 100  # candidates proposed by each retriever
RRF_K = 60  # the usual reciprocal-rank-fusion constant (Cormack et al. 2009)


def _z(x: np.ndarray) -> np.ndarray:
    std = float(x.std()) if len(x) else 0.0
    return (x - x.mean()) / std if std > 0 else np.zeros_like(x)


def fuse_zscore(cos: np.ndarray, bm25: np.ndarray, alpha: float = ALPHA) -> np.ndarray:
    """Weighted sum of the standardised cosine and BM25 scores of the candidates."""
    return alpha * _z(cos) + (1 - alpha) * _z(bm25)


def fuse_rrf(cos: np.ndarray, bm25: np.ndarray, k: int = RRF_K) -> np.ndarray:
    """Reciprocal-rank fusion: sum of 1 / (k + rank) over the two rankings."""
    def ranks(x):
        r = np.empty(len(x), np.float64)
        r[np.argsort(-x, kind="stable")] = np.arange(1, len(x) + 1)
        return r

    return 1 / (k + ranks(cos)) + 1 / (k + ranks(bm25))


def search(index: Store, query: np.ndarray | Callable[[], np.ndarray], text: str, k: int, alpha: float = ALPHA,
           pool: int = POOL, fusion: str = "zscore") -> list[Hit]:
    """The `k` best chunks for a question (its normalised vector and its text), best first.
    `query` may be a function that embeds the question: a store that searches the text
    elsewhere (Milvus) starts that search first and embeds meanwhile."""
    if not index.count or k <= 0:
        return []
    rows, chunks, cos, bm25 = index.candidates(query, text, max(pool, k))
    fused = fuse_rrf(cos, bm25) if fusion == "rrf" else fuse_zscore(cos, bm25, alpha)
    order = np.argsort(-fused, kind="stable")[:k]
    titles = index.titles
    hits = []
    for i in order:
        chunk = chunks[i]
        hits.append(Hit(chunk, titles.get(chunk.doc_id, chunk.doc_id), float(fused[i]), int(rows[i]),
                        float(cos[i])))
    return hits
