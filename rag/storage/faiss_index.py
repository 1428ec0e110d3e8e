"""The default store: FAISS vectors and a bm25s model in this process, kept on disk as
snapshots that are built, saved atomically and loaded with checks.

Layout of the index folder::

    CURRENT                 name of the live snapshot (replaced atomically)
    snapshots/<name>/       manifest.json, vectors.faiss, chunks.jsonl, bm25/ (rag/storage/bm25.py)
    .lock                   held while a build writes (one writer at a time)

A build writes a whole new snapshot, then swaps CURRENT with os.replace: a killed build
leaves the previous snapshot live. The manifest records the format version, embedding
model and dimension, chunking parameters, each document's content hash and each file's
checksum; `load` refuses any mismatch with a message that says what to do.
Rebuilding re-embeds only documents whose text changed. Leaves out: Milvus
(rag/storage/milvus_index.py) and the choice between the two (rag/storage/__init__.py).
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import BadIndexError, IndexWriteError
from ..types import Chunk, Document, Progress
from . import bm25
from .base import VECTOR_SETTINGS, Workers, settings
from .build import Local, Tally, embed_all, writer_lock


@dataclass(frozen=True)
class Index:
    """A `Store` (rag/storage/base.py): FAISS vectors and a bm25s model in memory, over `chunks`."""

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
        lexical = bm25.scores(self.bm25, text)[:n]
        lexical_rows = np.argpartition(-lexical, pool - 1)[:pool] if pool < n else np.arange(n)
        rows = np.unique(np.concatenate([dense_rows[0][dense_rows[0] >= 0], lexical_rows]))
        cos = self.vectors.reconstruct_batch(rows) @ q[0]
        return rows, [self.chunks[int(r)] for r in rows], cos.astype(np.float32), lexical[rows]

    def vectors_of(self, rows: list[int]) -> np.ndarray:
        """The embeddings of these rows (a Hit's `row`)."""
        return self.vectors.reconstruct_batch(np.asarray(rows, dtype=np.int64))

    @functools.cached_property
    def _idf(self) -> dict[str, float]:
        return bm25.idf_table(self.bm25)

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """BM25's IDF of each token over the chunks; a token seen nowhere gets the highest."""
        top = max(self._idf.values(), default=1.0)
        return {t: self._idf.get(t, top) for t in tokens}


@contextlib.contextmanager
def _single_thread():
    """One query is searched on one thread: a second OpenMP pool (faiss's, beside torch's)
    spinning on two cores slows both the query's embedding and its search (docs/speed.md)."""
    faiss = _faiss()
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(threads)


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


# Exact search while the corpus is small, HNSW beyond (M=32, efConstruction=80, efSearch=512:
# recall@10 >= 0.98 against exact search, tests/test_index.py). Where exact search stops
# being fast enough and what HNSW costs to build: docs/scale.md.
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


def build(docs: list[Document], embedder, config: Config,
          previous: Index | None = None, progress: Callable[[Progress], None] | None = None,
          workers: Workers | None = None) -> Index:
    """Chunk and embed `docs` (with `workers`, by default this process), reusing `previous`
    vectors of documents that did not change; `progress` hears how many chunks and documents
    are done after each block embedded."""
    workers = workers or Local(embedder, config)
    want = settings(embedder, config)
    reusable: dict[tuple[str, str], tuple[list[Chunk], np.ndarray]] = {}  # (id, sha256) -> chunks, vectors
    if previous is not None and all(previous.manifest.get(k) == want[k] for k in VECTOR_SETTINGS):
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
    tally = Tally([0 if vecs is not None else len(cs) for cs, vecs in plan], 0, len(plan), len(texts), progress)
    if texts:
        tally.start()
    embedded = embed_all(texts, workers, config.embed_batch, tally if progress else None)
    chunks, blocks, used = [], [np.zeros((0, embedder.dim), np.float32)], 0
    for cs, vecs in plan:
        if vecs is None:
            vecs, used = embedded[used : used + len(cs)], used + len(cs)
        chunks.extend(cs)
        blocks.append(vecs)
    matrix = np.concatenate(blocks)
    manifest = {
        **want,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "documents": {
            d.id: {"sha256": d.sha256, "title": d.title, "path": d.path,
                   "chunks": sum(c.doc_id == d.id for c in chunks)}
            for d in docs
        },
        "embedded": len(texts),  # chunks embedded by this build (the rest were reused)
    }
    titles = {d.id: d.title for d in docs}
    lexical = bm25.build([bm25.chunk_text(c, titles[c.doc_id]) for c in chunks])
    return Index(manifest, chunks, vector_index(matrix, embedder.dim), lexical)


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
        bm25.save(index.bm25, tmp / "bm25")
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


def load(folder: Path, embedder, config: Config, strict: bool = True) -> Index:
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
    for key, want in settings(embedder, config).items():
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
    lexical = bm25.load(snap / "bm25") if strict else None
    if vectors.ntotal != len(chunks) or vectors.d != embedder.dim or (
            strict and lexical.scores["num_docs"] != max(1, len(chunks))):
        raise BadIndexError(f"index vectors do not match its chunks: {rebuild}")
    return Index(manifest, chunks, vectors, lexical)


def is_current(index: Index, docs: list[Document]) -> bool:
    have = {k: v["sha256"] for k, v in index.manifest["documents"].items()}
    return have == {d.id: d.sha256 for d in docs}


def ensure(docs: list[Document], embedder, config: Config, log=print,
           progress: Callable[[Progress], None] | None = None, workers: Workers | None = None) -> Index:
    """Load the snapshot for `docs` from `config.index_dir`, bringing it up to date first if
    the documents or settings changed (the chunking and embedding done by `workers`)."""
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
