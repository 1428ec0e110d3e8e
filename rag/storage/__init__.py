"""Storage: where the chunks, their vectors and their BM25 terms live, and how they get there.

    base.py          the `Store` and `Workers` protocols, the settings an index records
    build.py         workers in this process, embedding in blocks, the writer lock, progress
    bm25.py          BM25 over the chunks (bm25s), and its sparse-vector form for Milvus
    faiss_index.py   the default store: FAISS + bm25s snapshots on disk
    milvus_index.py  Milvus (Lite or a server): the store's reading side
    milvus_build.py  Milvus: bringing the collections up to date, document by document
    ray_workers.py   `Workers` on a Ray cluster
    retrieve.py      hybrid search over any store: dense and BM25 scores fused

`ensure` below is the one place that opens a store from the config. Milvus and Ray are
imported only when asked for.
"""

from __future__ import annotations

from collections.abc import Callable

from ..config import Config
from ..types import Document, Progress
from .base import Store, Workers

__all__ = ["Store", "Workers", "ensure"]


def ensure(docs: list[Document], embedder, config: Config, log=print,
           progress: Callable[[Progress], None] | None = None, workers: Workers | None = None) -> Store:
    """The configured store (`config.store`) holding `docs`, brought up to date first if the
    documents or settings changed (the chunking and embedding done by `workers`)."""
    if config.store == "milvus":
        from . import milvus_build

        return milvus_build.ensure(docs, embedder, config, log, progress, workers)
    from . import faiss_index

    return faiss_index.ensure(docs, embedder, config, log, progress, workers)
