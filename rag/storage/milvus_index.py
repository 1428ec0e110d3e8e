"""The index in Milvus (`RAG_STORE=milvus`), its reading side: Milvus Lite inside the
process, or a Milvus server or cluster by URI, answering what the FAISS store answers
(rag/storage/base.py `Store`). Writing is rag/storage/milvus_build.py.

`RAG_MILVUS_URI` is a local path (Milvus Lite; default `index/milvus.db`) or
`http://host:19530` (a server or cluster, `RAG_MILVUS_TOKEN` for its auth). Three collections,
named after `Config.milvus_collection` ("rag"; the evaluation's index has its own):

    rag_chunks     id (a hash of doc_id and offsets: writing a chunk twice overwrites it),
                   doc_id, start, end, text; `vector`, MiniLM by cosine (exact in Milvus Lite,
                   which has no HNSW; HNSW M 32, efConstruction 80 on a server); `sparse`, the
                   chunk's BM25 term weights (rag/storage/bm25.py), by inner product, and
                   `terms`, their ids
    rag_terms      how many chunks hold each term (its document frequency), by term id
    rag_documents  the manifest: one row per document (sha256, title, path, chunks), and the
                   index settings under the id "" (a change of model or chunking rebuilds all)

Milvus Lite is pinned at 2.5, Milvus' own C++ engine (3.x is a Python rewrite whose searches
walk every row: docs/scale.md). Retrieval runs both sides in Milvus, together: the `pool`
nearest vectors and the `pool` best BM25 scores (the BM25 side also returns its chunks'
vectors, so every candidate gets its exact cosine), fused by rag/storage/retrieve.py's
z-scores like the FAISS store's. A candidate only the dense side found scores BM25 0 (its
real score is below the pool's last); why this and not Milvus' own `hybrid_search`:
docs/scale.md, with the command that measures it.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import Config
from ..errors import BadIndexError, IndexWriteError
from ..text import tokenize
from ..types import Chunk
from . import bm25

HNSW = {"M": 32, "efConstruction": 80}
EF_SEARCH = 128  # HNSW breadth on a server (raised to the pool when the pool is larger)
INSERT_ROWS = 1000  # rows per insert call
MAX_TEXT = 65_535  # Milvus' VARCHAR limit, in bytes
MAX_LIMIT = 16_384  # Milvus' largest search or query limit

_clients: dict[tuple[str, str], object] = {}
_clients_lock = threading.Lock()


@functools.cache
@functools.cache
def _searches() -> ThreadPoolExecutor:
    """The threads that run a query's two searches at once, shared by every index opened."""
    return ThreadPoolExecutor(16, thread_name_prefix="milvus")  # two searches for each of 8 answers at once


def _pymilvus():
    try:
        import pymilvus
    except ImportError as e:
        raise BadIndexError("RAG_STORE=milvus needs pymilvus and milvus-lite: run `make install`") from e
    return pymilvus


def uri(config: Config) -> str:
    return config.milvus_uri or str(config.index_dir / "milvus.db")


def is_local(address: str) -> bool:
    return "://" not in address


def client(config: Config):
    """One client per URI in this process (Milvus Lite allows one process per database)."""
    address = uri(config)
    with _clients_lock:
        key = (address, config.milvus_token)
        if key not in _clients:
            pm = _pymilvus()
            options = {}
            if is_local(address):
                # a local server refused keepalive pings between calls ("too_many_pings" on
                # stderr during every long embedding, seen with Lite 3.2): ping only during calls
                options["grpc_options"] = {"grpc.keepalive_permit_without_calls": 0}
                Path(address).parent.mkdir(parents=True, exist_ok=True)
            try:
                with warnings.catch_warnings():  # milvus-lite 2.5 imports pkg_resources, which says it is old
                    warnings.filterwarnings("ignore", "pkg_resources is deprecated", UserWarning)
                    _clients[key] = pm.MilvusClient(address, token=config.milvus_token, **options)
            except Exception as e:  # pymilvus raises its own exception types for every failure
                hint = ("is another process (a running chat?) using it? stop it, or run a Milvus server"
                        if is_local(address) else "is the server running, and RAG_MILVUS_TOKEN right?")
                raise IndexWriteError(f"cannot open Milvus at {address} ({e}): {hint}") from None
        return _clients[key]


def settings(base: dict) -> dict:
    """rag/storage/faiss_index.py's settings with this store's BM25 in place of bm25s'."""
    return {**base, "store": "milvus", "lexical": {
        "method": "lucene bm25 as sparse vectors (tf saturation per chunk, idf per query)", "k1": bm25.K1,
        "b": bm25.B, "stemmer": "snowball english", "text": "title + chunk", "term_ids": "blake2b 32-bit"}}


SETTINGS = ""  # the manifest row that holds the settings (a document id is a file stem, never empty)


@dataclass(frozen=True)
class Names:
    chunks: str
    documents: str
    terms: str

    @classmethod
    def of(cls, prefix: str) -> Names:
        return cls(f"{prefix}_chunks", f"{prefix}_documents", f"{prefix}_terms")


def _frequencies(db, names: Names, ids: list[int]) -> dict[int, int]:
    got = {}
    for k in range(0, len(ids), MAX_LIMIT):
        for r in db.get(names.terms, ids=ids[k : k + MAX_LIMIT], output_fields=["df"]):
            got[r["id"]] = int(r["df"])
    return got


class MilvusIndex:
    """A `Store` over the Milvus collections, as they were when it was opened (the manifest)."""

    def __init__(self, db, manifest: dict, collection: str) -> None:
        self.db = db
        self.names = Names.of(collection)
        self.manifest = manifest
        self.titles = {doc_id: d["title"] for doc_id, d in manifest["documents"].items()}
        self.count = sum(d["chunks"] for d in manifest["documents"].values())
        self._df: dict[int, int] = {}  # term id -> chunks holding it, as read once

    def _search(self, field: str, data, pool: int, output: list[str], **kw) -> list[dict]:
        return self.db.search(self.names.chunks, data=[data], anns_field=field, limit=pool, output_fields=output,
                              **kw)[0]

    def _frequencies(self, words: list[str]) -> dict[str, int]:
        missing = list({bm25.term_id(w) for w in words} - self._df.keys())
        if missing:
            got = _frequencies(self.db, self.names, missing)
            self._df.update({t: got.get(t, 0) for t in missing})
        return {w: self._df[bm25.term_id(w)] for w in words}

    def query_weights(self, text: str) -> dict[int, float]:
        """The question's BM25 side: each word's IDF (a word said twice counts twice, as in bm25s)."""
        words = tokenize([text])[0]
        df = self._frequencies(words)
        weights: Counter = Counter()
        for w in words:
            if df[w]:
                weights[bm25.term_id(w)] += bm25.idf(df[w], self.count)
        return dict(weights)

    def candidates(self, query: np.ndarray | Callable[[], np.ndarray], text: str, pool: int
                   ) -> tuple[np.ndarray, list[Chunk], np.ndarray, np.ndarray]:
        """Both searches at once; the BM25 one starts before the question is embedded when
        `query` is the function that embeds it."""
        pool = max(1, min(self.count, pool, MAX_LIMIT))
        weights = self.query_weights(text)
        fields = ["doc_id", "start", "end", "text"]
        sparse = _searches().submit(self._search, "sparse", weights, pool, fields + ["vector"]) if weights else None
        q = np.asarray(query() if callable(query) else query, np.float32).reshape(-1)
        params = {"ef": max(EF_SEARCH, pool)} if self.manifest.get("vector_index") == "HNSW" else {}
        dense = _searches().submit(self._search, "vector", q.tolist(), pool, fields, search_params={"params": params})
        found: dict[int, tuple[Chunk, float, float]] = {}
        for h in dense.result():
            e = h["entity"]
            found[h["id"]] = (Chunk(e["doc_id"], e["start"], e["end"], e["text"]), float(h["distance"]), 0.0)
        for h in sparse.result() if sparse else []:
            e = h["entity"]
            chunk, cos, _ = found.get(h["id"]) or (Chunk(e["doc_id"], e["start"], e["end"], e["text"]),
                                                   float(np.dot(e["vector"], q)), 0.0)
            found[h["id"]] = (chunk, cos, float(h["distance"]))
        rows = np.fromiter(found, dtype=np.int64, count=len(found))
        chunks, cos, bm25 = zip(*found.values(), strict=True) if found else ((), (), ())
        return rows, list(chunks), np.array(cos, np.float32), np.array(bm25, np.float32)

    def vectors_of(self, rows: list[int]) -> np.ndarray:
        ids = [int(r) for r in rows]
        got = {r["id"]: r["vector"] for r in self.db.get(self.names.chunks, ids=ids, output_fields=["vector"])}
        return np.array([got[int(r)] for r in rows], np.float32).reshape(len(rows), -1)

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """BM25's IDF of each token over the chunks; a token seen nowhere weighs as one seen once."""
        df = self._frequencies(tokens)
        return {t: bm25.idf(max(df[t], 1), self.count) for t in tokens}


