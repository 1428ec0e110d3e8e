"""The vector index on disk: build, save atomically, load with checks.

Layout of the index folder::

    CURRENT                 name of the live snapshot (replaced atomically)
    snapshots/<name>/       manifest.json, vectors.faiss, chunks.jsonl, bm25/ (rag/lexical.py)
    .lock                   held while a build writes (one writer at a time)

A build writes a whole new snapshot, then swaps CURRENT with os.replace: a killed build
leaves the previous snapshot live. The manifest records the format version, embedding
model and dimension, chunking parameters, each document's content hash and each file's
checksum; `load` refuses any mismatch with a message that says what to do.
Rebuilding re-embeds only documents whose text changed.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from . import lexical
from .chunk import chunk_document
from .config import Config
from .embed import Embedder
from .errors import BadIndexError, IndexWriteError
from .ingest import read_or_error
from .types import Chunk, Document, Progress

FORMAT = "rag-index v2"  # v2: BM25 model beside the vectors


class Store(Protocol):
    """What retrieval and the pipeline ask of an index, whichever engine holds it: `Index`
    below (FAISS + bm25s, in memory) or rag/milvus.py's `MilvusIndex`."""

    manifest: dict  # settings and {"documents": {doc_id: {sha256, title, path, chunks}}}

    @property
    def titles(self) -> dict[str, str]: ...

    @property
    def count(self) -> int: ...

    def candidates(self, query: np.ndarray | Callable[[], np.ndarray], text: str, pool: int
                   ) -> tuple[np.ndarray, list[Chunk], np.ndarray, np.ndarray]: ...

    def vectors_of(self, rows: list[int]) -> np.ndarray: ...

    def idf(self, tokens: list[str]) -> dict[str, float]: ...


@dataclass(frozen=True)
class Index:
    """The embedded store (the default): FAISS vectors and a bm25s model in memory, over `chunks`."""

    manifest: dict
    chunks: list[Chunk]  # row i of `vectors` is the embedding of chunks[i]
    vectors: object  # a faiss inner-product index over L2-normalised vectors
    bm25: object  # a bm25s model over the same chunks, same row order

    @functools.cached_property
    def titles(self) -> dict[str, str]:
        return {doc_id: d["title"] for doc_id, d in self.manifest["documents"].items()}

    @property
    def count(self) -> int:
        return len(self.chunks)

    def candidates(self, query: np.ndarray | Callable[[], np.ndarray], text: str, pool: int
                   ) -> tuple[np.ndarray, list[Chunk], np.ndarray, np.ndarray]:
        """Rows proposed by either retriever (the `pool` nearest vectors, the `pool` best BM25
        scores), with their chunks, cosine and BM25 scores. `query`: the question's vector, or
        the function that embeds it."""
        n = len(self.chunks)
        pool = min(n, pool)
        q = np.ascontiguousarray(query() if callable(query) else query, dtype=np.float32).reshape(1, -1)
        with _single_thread():
            _, dense_rows = self.vectors.search(q, pool)
        bm25 = lexical.scores(self.bm25, text)[:n]
        lexical_rows = np.argpartition(-bm25, pool - 1)[:pool] if pool < n else np.arange(n)
        rows = np.unique(np.concatenate([dense_rows[0][dense_rows[0] >= 0], lexical_rows]))
        cos = self.vectors.reconstruct_batch(rows) @ q[0]
        return rows, [self.chunks[int(r)] for r in rows], cos.astype(np.float32), bm25[rows]

    def vectors_of(self, rows: list[int]) -> np.ndarray:
        """The embeddings of these rows (a Hit's `row`)."""
        return self.vectors.reconstruct_batch(np.asarray(rows, dtype=np.int64))

    @functools.cached_property
    def _idf(self) -> dict[str, float]:
        return lexical.idf_table(self.bm25)

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """BM25's IDF of each token over the chunks; a token seen nowhere gets the highest."""
        top = max(self._idf.values(), default=1.0)
        return {t: self._idf.get(t, top) for t in tokens}


@contextlib.contextmanager
def _single_thread():
    """One query is searched on one thread: a second OpenMP pool (faiss's, beside torch's)
    spinning on two cores slowed MiniLM's query embedding from 14.8 to 19-22 ms and the
    search itself from 2.6 to 5.8 ms (SciFact, p50 of 100 queries)."""
    faiss = _faiss()
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(threads)


def _settings(embedder: Embedder, config: Config) -> dict:
    return {
        "format": FORMAT,
        "embedding_model": embedder.name,
        "dim": embedder.dim,
        "chunking": {"tokenizer": "cl100k_base", "max_tokens": config.chunk_tokens,
                     "overlap": config.chunk_overlap},
        "lexical": {"method": "bm25s lucene", "k1": lexical.K1, "b": lexical.B, "stemmer": "snowball english",
                    "text": "title + chunk"},
    }


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _faiss():
    try:
        import faiss
    except ImportError as e:
        raise BadIndexError("faiss is not installed: run `make install`") from e
    return faiss


# Exact search while the corpus is small, HNSW beyond. Measured here (2 cores, 384-d): exact
# search costs ~16 ms per query at 100k vectors and grows linearly, so ~8 ms at 50k; HNSW
# (M=32, efConstruction=80) answers in <1 ms at 100k with recall@10 0.995 against exact
# search at efSearch=512 (tests/test_index.py checks >= 0.98), but costs ~14 s to build
# per 100k vectors and is approximate. Below 50k chunks exact search is fast enough.
HNSW_THRESHOLD = 50_000
HNSW_M, HNSW_EF_CONSTRUCTION, HNSW_EF_SEARCH = 32, 80, 512


def vector_index(vectors: np.ndarray, dim: int):
    """A faiss inner-product index over `vectors`: exact below HNSW_THRESHOLD rows, HNSW above."""
    faiss = _faiss()
    if len(vectors) >= HNSW_THRESHOLD:
        index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


class Workers(Protocol):
    """Who reads, chunks and embeds for a build: `Local` (this process) or rag/distributed.py's
    Ray cluster. Both embed the same blocks with the same calls, so the vectors are the same."""

    dim: int

    def read(self, paths: list[Path]) -> list[Document | Exception]: ...

    def chunk(self, docs: list[Document]) -> list[list[Chunk]]: ...

    def embed(self, blocks: list[list[str]]) -> Iterator[np.ndarray]: ...


@dataclass(frozen=True)
class Local:
    embedder: Embedder
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


def terminal_bar() -> Callable[[Progress], None]:
    """A progress bar on stderr: chunks embedded, chunks per second, time left, documents done."""
    from tqdm import tqdm

    bar = None

    def show(p: Progress) -> None:
        nonlocal bar
        if bar is None:
            bar = tqdm(total=p.chunks_total, unit="chunk", desc="embedding", dynamic_ncols=True)
        bar.set_postfix_str(f"documents {p.documents_done}/{p.documents_total}", refresh=False)
        bar.update(p.chunks_done - bar.n)
        if p.chunks_done >= p.chunks_total:
            bar.close()

    return show


def build(docs: list[Document], embedder: Embedder, config: Config,
          previous: Index | None = None, progress: Callable[[Progress], None] | None = None,
          workers: Workers | None = None) -> Index:
    """Chunk and embed `docs` (with `workers`, by default this process), reusing `previous`
    vectors of documents that did not change; `progress` hears how many chunks and documents
    are done after each block embedded."""
    workers = workers or Local(embedder, config)
    settings = _settings(embedder, config)
    reusable: dict[tuple[str, str], tuple[list[Chunk], np.ndarray]] = {}  # (id, sha256) -> chunks, vectors
    if previous is not None and all(previous.manifest.get(k) == settings[k] for k in VECTOR_SETTINGS):
        rows: dict[str, list[int]] = {}
        for i, c in enumerate(previous.chunks):
            rows.setdefault(c.doc_id, []).append(i)
        old = previous.vectors.reconstruct_n(0, previous.vectors.ntotal) if rows else None
        for doc_id, meta in previous.manifest["documents"].items():
            if doc_id in rows:
                reusable[doc_id, meta["sha256"]] = ([previous.chunks[i] for i in rows[doc_id]], old[rows[doc_id]])
    fresh = [d for d in docs if (d.id, d.sha256) not in reusable]
    chunked = dict(zip((d.id for d in fresh), workers.chunk(fresh), strict=True))
    plan = [reusable.get((d.id, d.sha256)) or (chunked[d.id], None) for d in docs]
    texts = [c.text for cs, vecs in plan if vecs is None for c in cs]
    owner = [d for d, (cs, vecs) in enumerate(plan) if vecs is None for _ in cs]  # text row -> document
    left = [0 if vecs is not None else len(cs) for cs, vecs in plan]  # chunks still to embed, per document
    done = 0

    def embedded_rows(rows: list[int]) -> None:
        nonlocal done
        done += len(rows)
        for r in rows:
            left[owner[r]] -= 1
        progress(Progress(done, len(texts), sum(n == 0 for n in left), len(plan)))

    if progress is not None and texts:
        progress(Progress(0, len(texts), sum(n == 0 for n in left), len(plan)))
    embedded = embed_all(texts, workers, config.embed_batch, embedded_rows if progress else None)
    chunks, blocks, used = [], [np.zeros((0, embedder.dim), np.float32)], 0
    for cs, vecs in plan:
        if vecs is None:
            vecs, used = embedded[used : used + len(cs)], used + len(cs)
        chunks.extend(cs)
        blocks.append(vecs)
    matrix = np.concatenate(blocks)
    manifest = {
        **settings,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "documents": {
            d.id: {"sha256": d.sha256, "title": d.title, "path": d.path,
                   "chunks": sum(c.doc_id == d.id for c in chunks)}
            for d in docs
        },
        "embedded": len(texts),  # chunks embedded by this build (the rest were reused)
    }
    titles = {d.id: d.title for d in docs}
    bm25 = lexical.build([lexical.chunk_text(c, titles[c.doc_id]) for c in chunks])
    return Index(manifest, chunks, vector_index(matrix, embedder.dim), bm25)


def save(index: Index, folder: Path) -> Path:
    """Write `index` as a new snapshot and make it the live one; return its folder."""
    faiss = _faiss()
    snapshots = folder / "snapshots"
    snapshots.mkdir(parents=True, exist_ok=True)
    name = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:8]
    tmp = snapshots / f".tmp-{name}"
    tmp.mkdir()
    try:
        with open(tmp / "chunks.jsonl", "w", encoding="utf-8") as f:
            for c in index.chunks:
                f.write(json.dumps({"doc_id": c.doc_id, "start": c.start, "end": c.end,
                                    "text": c.text}, ensure_ascii=False) + "\n")
        faiss.write_index(index.vectors, str(tmp / "vectors.faiss"))
        lexical.save(index.bm25, tmp / "bm25")
        files = {str(p.relative_to(tmp)): _sha256_file(p) for p in sorted(tmp.rglob("*")) if p.is_file()}
        manifest = {**index.manifest, "files": files, "count": len(index.chunks)}
        (tmp / "manifest.json").write_text(json.dumps(manifest, indent=1, ensure_ascii=False))
        for p in tmp.rglob("*"):  # data on disk before the pointer names it
            if p.is_file():
                with open(p, "rb") as f:
                    os.fsync(f.fileno())
        os.rename(tmp, snapshots / name)
        pointer = folder / f".CURRENT.{uuid.uuid4().hex}"
        pointer.write_text(name + "\n")
        os.replace(pointer, folder / "CURRENT")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for old in snapshots.iterdir():  # the previous snapshots and any killed build's leftovers
        if old.name != name:
            shutil.rmtree(old, ignore_errors=True)
    return snapshots / name


VECTOR_SETTINGS = ("embedding_model", "dim", "chunking")  # what embedded vectors depend on


def load(folder: Path, embedder: Embedder, config: Config, strict: bool = True) -> Index:
    """The live snapshot of `folder`, checked against the settings and its checksums.
    With strict=False only the settings the vectors depend on must match, and the BM25
    model is not loaded: enough to reuse the vectors in a rebuild."""
    rebuild = "rebuild it with `python -m rag index`"
    try:
        name = (folder / "CURRENT").read_text().strip()
    except FileNotFoundError:
        raise BadIndexError(f"no index in {folder}: {rebuild}") from None
    snap = folder / "snapshots" / name
    try:
        manifest = json.loads((snap / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise BadIndexError(f"index manifest unreadable ({e}): {rebuild}") from None
    for key, want in _settings(embedder, config).items():
        if manifest.get(key) != want and (strict or key in VECTOR_SETTINGS):
            raise BadIndexError(
                f"index was built with {key}={manifest.get(key)!r}, this run uses {want!r}: {rebuild}")
    for fname, digest in manifest.get("files", {}).items():
        if not (snap / fname).exists() or _sha256_file(snap / fname) != digest:
            raise BadIndexError(f"index file {fname} is missing or corrupted: {rebuild}")
    with open(snap / "chunks.jsonl", encoding="utf-8") as f:
        chunks = [Chunk(**json.loads(line)) for line in f]
    vectors = _faiss().read_index(str(snap / "vectors.faiss"))
    if hasattr(vectors, "hnsw"):
        vectors.hnsw.efSearch = HNSW_EF_SEARCH
    bm25 = lexical.load(snap / "bm25") if strict else None
    if vectors.ntotal != len(chunks) or vectors.d != embedder.dim or (
            strict and bm25.scores["num_docs"] != max(1, len(chunks))):
        raise BadIndexError(f"index vectors do not match its chunks: {rebuild}")
    return Index(manifest, chunks, vectors, bm25)


@contextlib.contextmanager
def writer_lock(folder: Path):
    """Hold an exclusive lock on the index folder (waits for another build to finish)."""
    import fcntl

    try:
        folder.mkdir(parents=True, exist_ok=True)
        f = open(folder / ".lock", "w")
    except OSError as e:
        raise IndexWriteError(f"cannot write the index to {folder} ({e.strerror or e}): make the folder "
                              "writable or set RAG_INDEX_DIR, then run `python -m rag index`") from e
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def is_current(index: Index, docs: list[Document]) -> bool:
    have = {k: v["sha256"] for k, v in index.manifest["documents"].items()}
    return have == {d.id: d.sha256 for d in docs}


def ensure(docs: list[Document], embedder: Embedder, config: Config, log=print,
           progress: Callable[[Progress], None] | None = None, workers: Workers | None = None) -> Store:
    """Load the index for `docs` from the configured store, bringing it up to date first if
    the documents or settings changed (the chunking and embedding done by `workers`)."""
    if config.store == "milvus":
        from . import milvus

        return milvus.ensure(docs, embedder, config, _settings(embedder, config), log, progress, workers)
    folder = config.index_dir
    try:
        index = load(folder, embedder, config)
        if is_current(index, docs):
            return index
        reason = "documents changed"
    except BadIndexError as e:
        index, reason = None, str(e).split(":")[0]
    with writer_lock(folder):
        with contextlib.suppress(BadIndexError):  # another process may have just built it
            index = load(folder, embedder, config)
            if is_current(index, docs):
                return index
        if index is None:  # settings changed: still reuse the vectors if they are compatible
            with contextlib.suppress(BadIndexError):
                index = load(folder, embedder, config, strict=False)
        log(f"building index ({reason})…")
        t = time.perf_counter()
        index = build(docs, embedder, config, previous=index, progress=progress, workers=workers)
        try:
            save(index, folder)
        except OSError as e:  # save() removed its partial snapshot; the previous one is live
            raise IndexWriteError(f"cannot write the index to {folder} ({e.strerror or e}): free some disk "
                                  "space or make the folder writable (or set RAG_INDEX_DIR), then run "
                                  "`python -m rag index`") from e
        log(f"indexed {len(index.chunks)} chunks from {len(docs)} documents "
            f"({index.manifest['embedded']} embedded) in {time.perf_counter() - t:.1f} s")
    return index
