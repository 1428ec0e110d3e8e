"""BM25 over the chunks, with bm25s: the exact-word half of hybrid retrieval.

Dense MiniLM vectors miss rare words they never learned (an acronym such as "SoULS", a
gene name in a SciFact claim); BM25 matches them exactly. Chunks and queries are tokenized
the same way, by rag/text.py `tokenize` (lower case, Lucene's stopwords out, Snowball
stems). A chunk is indexed with its document's title in front (the first chunk holds it
already): a title names the topic that later chunks leave implicit (docs/quality.md has what
it moved on SciFact train). The model is saved beside the vectors
in the index snapshot; its sparse-vector form for Milvus is at the end.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from pathlib import Path

import numpy as np

from ..text import tokenize

# Lucene BM25 with k1=0.9, b=0.4 (Anserini's BEIR settings); other values did no better on
# SciFact train (`python tools/tune_retrieval.py`, docs/quality.md).
K1, B = 0.9, 0.4


def chunk_text(chunk, title: str) -> str:
    """What BM25 indexes for a chunk: the title, unless the chunk starts the document."""
    return chunk.text if chunk.start == 0 or not title else f"{title}\n{chunk.text}"


def build(texts: list[str], k1: float = K1, b: float = B):
    import bm25s

    model = bm25s.BM25(k1=k1, b=b)
    tokens = tokenize(texts) if texts else []
    # bm25s refuses an empty corpus or an all-stopword one; a placeholder token keeps shapes aligned
    model.index([t or ["\x00"] for t in tokens] or [["\x00"]], show_progress=False)
    return model


def scores(model, query: str) -> np.ndarray:
    """BM25 score of every chunk for `query` (zeros when it has no indexable word)."""
    tokens = tokenize([query])[0]
    if not tokens:
        return np.zeros(model.scores["num_docs"], np.float32)
    return np.asarray(model.get_scores(tokens), np.float32)


def save(model, folder: Path) -> None:
    model.save(str(folder), show_progress=False)


def load(folder: Path):
    import bm25s

    return bm25s.BM25.load(str(folder), show_progress=False, verbosity=0)


def idf_table(bm25) -> dict[str, float]:
    """BM25's IDF of every indexed token (bm25s keeps document frequencies as column sizes)."""
    vocab, indptr, n = bm25.vocab_dict, np.asarray(bm25.scores["indptr"]), int(bm25.scores["num_docs"])
    df = np.diff(indptr)
    return {t: math.log(1 + (n - df[i] + 0.5) / (df[i] + 0.5)) for t, i in vocab.items() if i < len(df)}


# --- the same BM25 as sparse vectors, for Milvus (rag/storage/milvus_index.py) ---
# A chunk holds each term's saturated frequency tf / (tf + k1 (1 - b + b dl / avgdl)), a query
# each of its terms' IDF ln(1 + (N - df + 0.5) / (df + 0.5)): their inner product is the BM25
# score bm25s computes. Term ids are 32-bit hashes of the stems, as in Milvus' own BM25.

EMPTY = 2**32 - 2  # the term id of a chunk without words (Milvus refuses an empty sparse vector)


def term_id(stem: str) -> int:
    """A stem's sparse dimension: 32 bits of its hash (never EMPTY or Milvus' reserved 2**32 - 1)."""
    return int.from_bytes(hashlib.blake2b(stem.encode(), digest_size=4).digest(), "big") % EMPTY


def chunk_weights(words: list[str], avgdl: float) -> dict[int, float]:
    """A chunk's BM25 side: each term's saturated frequency (Lucene, as bm25s)."""
    tf = Counter(map(term_id, words))
    norm = K1 * (1 - B + B * max(1, len(words)) / avgdl)
    return {t: n / (n + norm) for t, n in tf.items()} or {EMPTY: 1e-9}


def idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))
