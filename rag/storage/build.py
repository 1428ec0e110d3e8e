"""The build machinery every store shares: workers in this process, embedding in blocks,
the writer lock and the progress bar.

`embed_all` hands the texts to the workers in blocks of `embed_batch` x 16, shortest first
(less padding), and reports each block as it is done; the stores turn the vectors into their
own layout. The lock is a `filelock` on `<index_dir>/.lock`: one writer at a time across
processes; readers never wait for it.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import IndexWriteError
from ..ingest.chunk import chunk_document
from ..ingest.read import read_or_error
from ..types import Chunk, Document, Progress
from .base import Workers


@dataclass(frozen=True)
class Local:
    """`Workers` in this process: read, chunk and embed here."""

    embedder: object  # rag.models.embed.Embedder
    config: Config

    @property
    def dim(self) -> int:
        return self.embedder.dim

    def read(self, paths: list[Path]) -> list[Document | Exception]:
        return [read_or_error(p) for p in paths]

    def chunk(self, docs: list[Document]) -> list[list[Chunk]]:
        return [chunk_document(d, self.config.chunk_tokens, self.config.chunk_overlap) for d in docs]

    def embed(self, blocks: list[list[str]]) -> Iterator[np.ndarray]:
        for texts in blocks:
            yield self.embedder.encode(texts, batch_size=self.config.embed_batch)


def blocks(texts: list[str], batch: int) -> list[list[int]]:
    """Rows of `texts` in embedding blocks of batch x 16, shortest first (less padding)."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    size = batch * 16
    return [order[k : k + size] for k in range(0, len(order), size)]


def embed_all(texts: list[str], workers: Workers, batch: int,
              progress: Callable[[list[int]], None] | None = None) -> np.ndarray:
    """Embed `texts` block by block (`blocks`), calling `progress(rows)` with the rows of each
    block once it is embedded; rows come back in the order of `texts`."""
    out = np.zeros((len(texts), workers.dim), np.float32)
    plan = blocks(texts, batch)
    for rows, vectors in zip(plan, workers.embed([[texts[i] for i in rows] for rows in plan]), strict=True):
        out[rows] = vectors
        if progress is not None:
            progress(rows)
    return out


class Tally:
    """Counts embedded chunks per document and reports a `Progress` after each block."""

    def __init__(self, sizes: list[int], done_before: int, documents: int, total: int,
                 progress: Callable[[Progress], None] | None, chunks_before: int = 0) -> None:
        self.owner = [d for d, n in enumerate(sizes) for _ in range(n)]  # text row -> document
        self.left = list(sizes)  # chunks still to embed, per document
        self.before, self.documents, self.total, self.progress = done_before, documents, total, progress
        self.done = chunks_before

    def start(self) -> None:
        if self.progress is not None:
            self.progress(Progress(self.done, self.total, self.before + self.left.count(0), self.documents))

    def __call__(self, rows: list[int]) -> None:
        self.done += len(rows)
        for r in rows:
            self.left[self.owner[r]] -= 1
        if self.progress is not None:  # a document counts as done once all its chunks are embedded
            self.progress(Progress(self.done, self.total, self.before + self.left.count(0), self.documents))


@contextlib.contextmanager
def writer_lock(folder: Path):
    """Hold an exclusive lock on the index folder (waits for another build to finish)."""
    from filelock import FileLock

    lock = FileLock(folder / ".lock")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except OSError as e:
        raise IndexWriteError(f"cannot write the index to {folder} ({e.strerror or e}): make the folder "
                              "writable or set RAG_INDEX_DIR, then run `python -m rag index`") from e
    try:
        yield
    finally:
        lock.release()


def terminal_bar() -> Callable[[Progress], None]:
    """A progress bar on stderr: chunks embedded, chunks per second, time left, documents done
    (and before it, the pages of a scanned PDF recognised)."""
    from tqdm import tqdm

    bar = None

    def show(p: Progress) -> None:
        nonlocal bar
        if p.reading:  # a scanned PDF's pages being recognised, before the embedding
            print(f"\rreading {p.reading} (OCR): page {p.pages_done}/{p.pages_total}",
                  end="\n" if p.pages_done == p.pages_total else "", file=sys.stderr, flush=True)
            return
        if bar is None:
            bar = tqdm(total=p.chunks_total, unit="chunk", desc="embedding", dynamic_ncols=True)
        bar.set_postfix_str(f"documents {p.documents_done}/{p.documents_total}", refresh=False)
        bar.update(p.chunks_done - bar.n)
        if p.chunks_done >= p.chunks_total:
            bar.close()

    return show
