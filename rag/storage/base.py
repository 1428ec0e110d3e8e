"""What every store offers and is built from: the `Store` and `Workers` protocols and the
index settings a build records.

A store is the FAISS + bm25s snapshot in this process (rag/storage/faiss_index.py) or
Milvus (rag/storage/milvus_index.py); `Workers` read, chunk and embed for a build, here
(rag/storage/build.py `Local`) or on Ray (rag/storage/ray_workers.py). Protocols only: no
engine is imported here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol

import numpy as np

from ..config import Config
from ..text import SENTENCES
from ..types import Chunk, Document
from . import bm25

FORMAT = "rag-index v2"  # v2: BM25 model beside the vectors
VECTOR_SETTINGS = ("embedding_model", "dim", "chunking")  # what embedded vectors depend on


class Store(Protocol):
    """What retrieval and the pipeline ask of an index, whichever engine holds it."""

    manifest: dict  # settings and {"documents": {doc_id: {sha256, title, path, chunks}}}

    @property
    def titles(self) -> dict[str, str]: ...

    @property
    def count(self) -> int: ...

    def candidates(self, query: np.ndarray | Callable[[], np.ndarray], text: str, pool: int
                   ) -> tuple[np.ndarray, list[Chunk], np.ndarray, np.ndarray]: ...

    def vectors_of(self, rows: list[int]) -> np.ndarray: ...

    def idf(self, tokens: list[str]) -> dict[str, float]: ...


class Workers(Protocol):
    """Who reads, chunks and embeds for a build: `Local` (this process) or Ray's workers.
    Both embed the same blocks with the same calls, so the vectors are the same."""

    dim: int

    def read(self, paths: list[Path]) -> list[Document | Exception]: ...

    def chunk(self, docs: list[Document]) -> list[list[Chunk]]: ...

    def embed(self, blocks: list[list[str]]) -> Iterator[np.ndarray]: ...


def settings(embedder, config: Config) -> dict:
    """What an index records of how it was built; a mismatch on load means a rebuild."""
    return {
        "format": FORMAT,
        "embedding_model": embedder.name,
        "dim": embedder.dim,
        "chunking": {"tokenizer": "cl100k_base", "max_tokens": config.chunk_tokens,
                     "overlap": config.chunk_overlap, "sentences": SENTENCES},
        "lexical": {"method": "bm25s lucene", "k1": bm25.K1, "b": bm25.B, "stemmer": "snowball english",
                    "text": "title + chunk"},
    }
