"""Find the passages most similar to a question.

Vectors in, plain `Hit`s out: the query embedding is searched against the index by
inner product (cosine similarity, as every vector is L2-normalised).
"""

from __future__ import annotations

import numpy as np

from .index import Index
from .types import Hit


def search(index: Index, query: np.ndarray, k: int) -> list[Hit]:
    """The `k` best chunks for one normalised query vector, best first."""
    if not index.chunks or k <= 0:
        return []
    q = np.ascontiguousarray(query, dtype=np.float32).reshape(1, -1)
    scores, rows = index.vectors.search(q, min(k, len(index.chunks)))
    titles = index.titles
    return [
        Hit(index.chunks[i], titles.get(index.chunks[i].doc_id, index.chunks[i].doc_id), float(s), int(i))
        for s, i in zip(scores[0], rows[0], strict=True)
        if i >= 0
    ]
