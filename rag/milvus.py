"""The index in Milvus (`RAG_STORE=milvus`): Milvus Lite inside the process, or a Milvus
server or cluster by URI, answering what the FAISS store answers (rag/index.py `Store`).

`RAG_MILVUS_URI` is a local path (Milvus Lite; default `index/milvus.db`) or
`http://host:19530` (a server or cluster, `RAG_MILVUS_TOKEN` for its auth). Three collections,
named after `Config.milvus_collection` ("rag"; the evaluation's index has its own):

    rag_chunks     id (a hash of doc_id and offsets: writing a chunk twice overwrites it),
                   doc_id, start, end, text; `vector`, MiniLM by cosine (exact in Milvus Lite,
                   which has no HNSW; HNSW M 32, efConstruction 80 on a server); `sparse`, the
                   chunk's BM25 term weights (below), by inner product, and `terms`, their ids
    rag_terms      how many chunks hold each term (its document frequency), by term id
    rag_documents  the manifest: one row per document (sha256, title, path, chunks), and the
                   index settings under the id "" (a change of model or chunking rebuilds all)

Milvus Lite is pinned at 2.5, Milvus' own C++ engine: Lite 3.x is a Python rewrite whose every
search walks every row in Python (measured here: 91 ms a query at 50k chunks, 1 s at 500k; docs/scale.md).

BM25 runs in Milvus as sparse vectors that we compute, the way bm25s scores (Lucene's BM25,
k1 0.9, b 0.4, over rag/lexical.py's stemmed words of title + chunk): a chunk holds each
term's saturated frequency tf / (tf + k1 (1 - b + b dl / avgdl)), a query each of its terms'
IDF ln(1 + (N - df + 0.5) / (df + 0.5)) from rag_terms, and their inner product is the BM25
score. Milvus' BM25 function (Lite 3.2) over the same stemmed words ranked SciFact as well
(hybrid 0.730 on test either way) but weighs chunk lengths its own way: one seed question of
48 was answered differently from FAISS. These vectors score what bm25s scores. avgdl is
measured on the first documents written and kept (a length norm: adding a document never
rewrites the others). Term ids are 32-bit hashes of the stems, as in Milvus' own BM25.

Updates go document by document, so the store never holds a corpus twice: a changed or
removed document's chunks are deleted, a new one's inserted, then its manifest row written.
A killed run leaves at most documents without a row: the next run deletes their chunks and
indexes them again, so nothing is indexed twice or lost (a kill between a batch of chunks and
its term counts leaves those counts off until that document is indexed again).

Retrieval runs both sides in Milvus, together: the `pool` nearest vectors and the `pool` best
BM25 scores (the BM25 side also returns its chunks' vectors, so every candidate gets its exact
cosine), fused by rag/retrieve.py's z-scores like the FAISS store's. A candidate only the
dense side found scores BM25 0 (its real score is below the pool's last). Chosen on SciFact
train, nDCG@10 (`python tools/milvus_choices.py --split train`): this 0.742; its exact BM25
score (a third, filtered search; the same ranking as FAISS + bm25s) 0.740; the pool's lowest
score 0.738; Milvus' own `hybrid_search` with RRFRanker 0.723, WeightedRanker(0.6, 0.4) 0.718.
On test (seen once, after choosing) the exact score would have been better, 0.736 against
0.730: the two are within the noise of one split, and the third search costs a third more.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
import warnings
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import lexical
from .config import Config
from .errors import BadIndexError, IndexWriteError
from .types import Chunk, Document, Progress

HNSW = {"M": 32, "efConstruction": 80}
EF_SEARCH = 128  # HNSW breadth on a server (raised to the pool when the pool is larger)
INSERT_ROWS = 1000  # rows per insert call
MAX_TEXT = 65_535  # Milvus' VARCHAR limit, in bytes
MAX_LIMIT = 16_384  # Milvus' largest search or query limit

_clients: dict[tuple[str, str], object] = {}
_clients_lock = threading.Lock()


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


def chunk_id(c: Chunk) -> int:
    """A stable 63-bit key: the same chunk always lands on the same row."""
    digest = hashlib.blake2b(f"{c.doc_id}\0{c.start}\0{c.end}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def _fits(text: str, limit: int = MAX_TEXT) -> str:
    raw = text.encode()
    return text if len(raw) <= limit else raw[:limit].decode(errors="ignore")


def settings(base: dict) -> dict:
    """rag/index.py's settings with this store's BM25 in place of bm25s'."""
    return {**base, "store": "milvus", "lexical": {
        "method": "lucene bm25 as sparse vectors (tf saturation per chunk, idf per query)", "k1": lexical.K1,
        "b": lexical.B, "stemmer": "snowball english", "text": "title + chunk", "term_ids": "blake2b 32-bit"}}


SETTINGS = ""  # the manifest row that holds the settings (a document id is a file stem, never empty)
EMPTY = 2**32 - 2  # the term id of a chunk without words (Milvus refuses an empty sparse vector)


@dataclass(frozen=True)
class Names:
    chunks: str
    documents: str
    terms: str

    @classmethod
    def of(cls, prefix: str) -> Names:
        return cls(f"{prefix}_chunks", f"{prefix}_documents", f"{prefix}_terms")


def term_id(stem: str) -> int:
    """A stem's sparse dimension: 32 bits of its hash (never EMPTY or Milvus' reserved 2**32 - 1)."""
    return int.from_bytes(hashlib.blake2b(stem.encode(), digest_size=4).digest(), "big") % EMPTY


def chunk_weights(words: list[str], avgdl: float) -> dict[int, float]:
    """A chunk's BM25 side: each term's saturated frequency (Lucene, as bm25s)."""
    tf = Counter(map(term_id, words))
    norm = lexical.K1 * (1 - lexical.B + lexical.B * max(1, len(words)) / avgdl)
    return {t: n / (n + norm) for t, n in tf.items()} or {EMPTY: 1e-9}


def idf(df: int, n: int) -> float:
    return math.log(1 + (n - df + 0.5) / (df + 0.5))


def _create(db, want: dict, names: Names) -> None:
    pm = _pymilvus()
    s = db.create_schema(auto_id=False)
    s.add_field("id", pm.DataType.INT64, is_primary=True)
    s.add_field("doc_id", pm.DataType.VARCHAR, max_length=512)
    s.add_field("start", pm.DataType.INT64)
    s.add_field("end", pm.DataType.INT64)
    s.add_field("text", pm.DataType.VARCHAR, max_length=MAX_TEXT)
    s.add_field("sparse", pm.DataType.SPARSE_FLOAT_VECTOR)
    s.add_field("terms", pm.DataType.VARCHAR, max_length=MAX_TEXT)  # the sparse dimensions, readable back
    s.add_field("vector", pm.DataType.FLOAT_VECTOR, dim=want["dim"])
    ip = db.prepare_index_params()
    if want["vector_index"] == "HNSW":
        ip.add_index("vector", index_type="HNSW", metric_type="COSINE", params=HNSW)
    else:  # Milvus Lite has exact search only (and IVF)
        ip.add_index("vector", index_type="FLAT", metric_type="COSINE")
    ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="IP")
    ip.add_index("doc_id", index_type="INVERTED")
    db.create_collection(names.chunks, schema=s, index_params=ip, consistency_level="Strong")
    docs = db.create_schema(auto_id=False)
    docs.add_field("id", pm.DataType.VARCHAR, max_length=512, is_primary=True)
    docs.add_field("meta", pm.DataType.VARCHAR, max_length=MAX_TEXT)
    terms = db.create_schema(auto_id=False)
    terms.add_field("id", pm.DataType.INT64, is_primary=True)
    terms.add_field("df", pm.DataType.INT64)
    for name, schema in ((names.documents, docs), (names.terms, terms)):
        schema.add_field("v", pm.DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector in every collection
        ip = db.prepare_index_params()
        ip.add_index("v", index_type="FLAT", metric_type="L2")
        db.create_collection(name, schema=schema, index_params=ip, consistency_level="Strong")
    db.insert(names.documents, [{"id": SETTINGS, "meta": json.dumps(want, sort_keys=True), "v": [0.0, 0.0]}])


def _stored_settings(db, names: Names) -> dict:
    rows = db.get(names.documents, ids=[SETTINGS], output_fields=["meta"])
    return json.loads(rows[0]["meta"]) if rows else {}


def _open(db, want: dict, log, names: Names) -> dict:
    """Create the collections, or recreate them when they were built with other settings;
    return the stored settings row (`want`, plus avgdl once documents were written)."""
    if all(db.has_collection(n) for n in (names.chunks, names.documents, names.terms)):
        db.load_collection(names.documents)
        have = _stored_settings(db, names)
        changed = [k for k in want if have.get(k) != want[k]]
        if not changed:
            db.load_collection(names.chunks)
            db.load_collection(names.terms)
            return have
        log(f"rebuilding the Milvus collections ({changed[0]} changed)…")
    for name in (names.chunks, names.documents, names.terms):
        if db.has_collection(name):
            db.drop_collection(name)
    _create(db, want, names)
    return want


def _documents(db, names: Names) -> dict[str, dict]:
    out = {}
    rows = int(db.query(names.documents, filter="", output_fields=["count(*)"])[0]["count(*)"])
    if rows <= MAX_LIMIT:  # one query while it fits Milvus' limit
        got = db.query(names.documents, filter="", output_fields=["id", "meta"], limit=MAX_LIMIT)
        return {r["id"]: json.loads(r["meta"]) for r in got if r["id"] != SETTINGS}
    it = db.query_iterator(names.documents, batch_size=1000, filter="", output_fields=["id", "meta"])
    try:
        while batch := it.next():
            for row in batch:
                if row["id"] != SETTINGS:
                    out[row["id"]] = json.loads(row["meta"])
    finally:
        it.close()
    return out


def _frequencies(db, names: Names, ids: list[int]) -> dict[int, int]:
    got = {}
    for k in range(0, len(ids), MAX_LIMIT):
        for r in db.get(names.terms, ids=ids[k : k + MAX_LIMIT], output_fields=["df"]):
            got[r["id"]] = int(r["df"])
    return got


def _count_terms(db, names: Names, change: Counter) -> None:
    """Add `change` (term id -> chunks gained, or lost when negative) to the document frequencies."""
    change.pop(EMPTY, None)
    ids = [t for t, n in change.items() if n]
    if not ids:
        return
    now = _frequencies(db, names, ids)
    new = {t: now.get(t, 0) + change[t] for t in ids}
    keep = [{"id": t, "df": n, "v": [0.0, 0.0]} for t, n in new.items() if n > 0]
    for k in range(0, len(keep), INSERT_ROWS):
        db.upsert(names.terms, keep[k : k + INSERT_ROWS])
    gone = [t for t, n in new.items() if n <= 0]
    for k in range(0, len(gone), MAX_LIMIT):
        db.delete(names.terms, ids=gone[k : k + MAX_LIMIT])


def _delete_chunks(db, names: Names, where: str) -> None:
    """Delete the chunks matching `where`, and their terms from the frequencies."""
    # the terms are read from a text field: Milvus Lite 2.5 cannot return a sparse vector not yet sealed
    while rows := db.query(names.chunks, filter=where, output_fields=["id", "terms"], limit=MAX_LIMIT):
        db.delete(names.chunks, ids=[r["id"] for r in rows])
        lost = Counter(int(t) for r in rows for t in r["terms"].split())
        _count_terms(db, names, Counter({t: -n for t, n in lost.items()}))


def _quoted(ids) -> str:
    return json.dumps(list(ids))


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
        missing = list({term_id(w) for w in words} - self._df.keys())
        if missing:
            got = _frequencies(self.db, self.names, missing)
            self._df.update({t: got.get(t, 0) for t in missing})
        return {w: self._df[term_id(w)] for w in words}

    def query_weights(self, text: str) -> dict[int, float]:
        """The question's BM25 side: each word's IDF (a word said twice counts twice, as in bm25s)."""
        words = lexical.tokenize([text])[0]
        df = self._frequencies(words)
        weights: Counter = Counter()
        for w in words:
            if df[w]:
                weights[term_id(w)] += idf(df[w], self.count)
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
        return {t: idf(max(df[t], 1), self.count) for t in tokens}


def ensure(docs: list[Document], embedder, config: Config, base_settings: dict, log=print,
           progress: Callable[[Progress], None] | None = None, workers=None) -> MilvusIndex:
    """Bring the Milvus collections up to date with `docs`, embedding only what changed."""
    from .index import Local, writer_lock

    workers = workers or Local(embedder, config)
    want = {**settings(base_settings), "vector_index": "FLAT" if is_local(uri(config)) else "HNSW"}
    db = client(config)
    names = Names.of(config.milvus_collection)
    with writer_lock(config.index_dir):
        try:
            stored = _open(db, want, log, names)
            have = _documents(db, names)
            wanted = {d.id: d for d in docs}
            gone = [i for i, m in have.items() if i not in wanted or m["sha256"] != wanted[i].sha256]
            todo = [d for d in docs if d.id not in have or have[d.id]["sha256"] != d.sha256]
            if gone:
                db.delete(names.documents, ids=gone)
            # chunks of documents without a manifest row: changed, removed, or a killed run's
            keep = [i for i in wanted if i not in todo]
            _delete_chunks(db, names, f"doc_id not in {_quoted(keep)}" if keep else 'doc_id != ""')
            if todo:
                log(f"indexing {len(todo)} documents in Milvus ({uri(config)})…")
                avgdl = stored.get("avgdl")
                for group in _embedded(todo, workers, config, progress):
                    avgdl = avgdl or _keep_avgdl(db, names, stored, group)
                    _write(db, names, group, avgdl)
            for name in (names.chunks, names.terms, names.documents):
                db.flush(name)
            have = _documents(db, names)
        except (BadIndexError, IndexWriteError):
            raise
        except Exception as e:  # pymilvus' own exceptions
            raise IndexWriteError(f"Milvus at {uri(config)} failed ({e}): check it and run `python -m rag index`") \
                from None
    documents = {d.id: have[d.id] for d in docs if d.id in have}
    return MilvusIndex(db, {**want, "documents": documents, "uri": uri(config)}, config.milvus_collection)


def _words(group: list[tuple[Document, list[Chunk], np.ndarray]]) -> list[list[str]]:
    texts = [lexical.chunk_text(c, doc.title) for doc, cs, _ in group for c in cs]
    return lexical.tokenize(texts) if texts else []


def _keep_avgdl(db, names: Names, stored: dict, group) -> float:
    """The average words per chunk of the first documents written, kept in the settings row."""
    words = _words(group)
    avgdl = float(np.mean([max(1, len(w)) for w in words])) if words else 1.0
    row = {**stored, "avgdl": avgdl}
    db.upsert(names.documents, [{"id": SETTINGS, "meta": json.dumps(row, sort_keys=True), "v": [0.0, 0.0]}])
    return avgdl


def _embedded(todo: list[Document], workers, config: Config, progress) -> Iterator[list[tuple]]:
    """Groups of (document, chunks, vectors) for `todo`, about 16 embedding blocks at a time,
    so memory stays bounded however large the corpus."""
    from .index import embed_all

    chunked = workers.chunk(todo)
    total, done, docs_done = sum(map(len, chunked)), 0, 0
    if progress is not None:
        progress(Progress(0, total, 0, len(todo)))
    group_rows = config.embed_batch * 16 * 16
    i = 0
    while i < len(todo):
        j, rows = i, 0
        while j < len(todo) and (rows == 0 or rows + len(chunked[j]) <= group_rows):
            rows += len(chunked[j])
            j += 1
        texts = [c.text for cs in chunked[i:j] for c in cs]
        owner = [d for d, cs in enumerate(chunked[i:j]) for _ in cs]  # text row -> document of the group
        left = [len(cs) for cs in chunked[i:j]]

        def embedded(block: list[int], before=docs_done, owner=owner, left=left) -> None:
            nonlocal done
            done += len(block)
            for r in block:
                left[owner[r]] -= 1
            if progress is not None:  # a document counts as done once all its chunks are embedded
                progress(Progress(done, total, before + sum(n == 0 for n in left), len(todo)))

        vectors = embed_all(texts, workers, config.embed_batch, embedded)
        group, at = [], 0
        for doc, chunks in zip(todo[i:j], chunked[i:j], strict=True):
            group.append((doc, chunks, vectors[at : at + len(chunks)]))
            at += len(chunks)
        yield group
        docs_done += len(group)
        i = j


def _write(db, names: Names, group: list[tuple[Document, list[Chunk], np.ndarray]], avgdl: float) -> None:
    """Documents' chunks and their terms, then their manifest rows (the mark that a document is complete)."""
    _delete_chunks(db, names, f"doc_id in {_quoted(doc.id for doc, _, _ in group)}")
    chunks = [(c, v) for _, cs, vectors in group for c, v in zip(cs, vectors, strict=True)]
    sparse = [chunk_weights(w, avgdl) for w in _words(group)]
    rows = [{"id": chunk_id(c), "doc_id": c.doc_id, "start": c.start, "end": c.end, "text": _fits(c.text),
             "sparse": sp, "terms": " ".join(map(str, sp)), "vector": v.tolist()}
            for (c, v), sp in zip(chunks, sparse, strict=True)]
    for k in range(0, len(rows), INSERT_ROWS):
        db.insert(names.chunks, rows[k : k + INSERT_ROWS])
    _count_terms(db, names, Counter(t for sp in sparse for t in sp))
    meta = [{"id": doc.id, "v": [0.0, 0.0], "meta": json.dumps(
        {"sha256": doc.sha256, "title": doc.title, "path": doc.path, "chunks": len(cs)}, ensure_ascii=False)}
        for doc, cs, _ in group]
    for k in range(0, len(meta), INSERT_ROWS):
        db.upsert(names.documents, meta[k : k + INSERT_ROWS])
