"""The index in Milvus (`RAG_STORE=milvus`): Milvus Lite inside the process, or a Milvus
server or cluster by URI, answering what the FAISS store answers (rag/index.py `Store`).

`RAG_MILVUS_URI` is a local path (Milvus Lite; default `index/milvus.db`) or
`http://host:19530` (a server or cluster, `RAG_MILVUS_TOKEN` for its auth). Two collections,
named after `Config.milvus_collection` ("rag"; the evaluation's index has its own):

    rag_chunks     id (a hash of doc_id and offsets: writing a chunk twice overwrites it),
                   doc_id, start, end, text; `lexical`, the chunk's words as BM25 sees them
                   (title + chunk, lower-cased, stopwords out, Snowball-stemmed by
                   rag/lexical.py: Milvus Lite's analyzers do not stem); `sparse`, Milvus' own
                   BM25 function over `lexical` (k1 0.9, b 0.4 as bm25s); `vector`, MiniLM,
                   HNSW (M 32, efConstruction 80) by cosine.
    rag_documents  the manifest: one row per document (sha256, title, path, chunks), and the
                   index settings under the id "" (a change of model or chunking rebuilds both)

Updates go document by document, so the store never holds a corpus twice: a changed or
removed document's chunks are deleted, a new one's inserted, then its manifest row written.
A killed run leaves at most documents without a row: the next run deletes their chunks and
indexes them again, so nothing is indexed twice or lost.

Retrieval runs both sides in Milvus, together: the `pool` nearest vectors and the `pool` best
BM25 scores (the BM25 side also returns its chunks' vectors, so every candidate gets its exact
cosine), fused by rag/retrieve.py's z-scores like the FAISS store's. A candidate only the
dense side found scores BM25 0 (its real score is below the pool's last). Chosen on SciFact
train, nDCG@10 (`python tools/milvus_choices.py --split train`): this 0.737; its exact BM25
score (a third, filtered search) 0.739; the pool's lowest score 0.731; Milvus' own
`hybrid_search` with RRFRanker 0.725 or WeightedRanker(0.6, 0.4) 0.716 (FAISS + bm25s: 0.740).
The third search buys 0.002 for a third more time. On test: 0.730 (FAISS + bm25s 0.736).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from . import lexical
from .config import Config
from .errors import BadIndexError, IndexWriteError
from .types import Chunk, Document, Progress

HNSW = {"M": 32, "efConstruction": 80}
EF_SEARCH = 128  # at least the pool; recall against exact search: tests/test_milvus.py
INSERT_ROWS = 1000  # rows per insert call
MAX_TEXT = 65_535  # Milvus' VARCHAR limit, in bytes
MAX_LIMIT = 16_384  # Milvus' largest search or query limit

_clients: dict[tuple[str, str], object] = {}
_clients_lock = threading.Lock()


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
                # Lite's server refuses keepalive pings between calls ("too_many_pings", logged
                # by gRPC on stderr during every long embedding): ping only while a call is open
                options["grpc_options"] = {"grpc.keepalive_permit_without_calls": 0}
                Path(address).parent.mkdir(parents=True, exist_ok=True)
            try:
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
    return {**base, "store": "milvus", "lexical": {"method": "milvus BM25 function over rag stems",
                                                    "k1": lexical.K1, "b": lexical.B, "stemmer": "snowball english",
                                                    "text": "title + chunk"}}


SETTINGS = ""  # the manifest row that holds the settings (a document id is a file stem, never empty)


def _create(db, want: dict, chunk_coll: str, doc_coll: str) -> None:
    pm = _pymilvus()
    dim = want["dim"]
    s = db.create_schema(auto_id=False)
    s.add_field("id", pm.DataType.INT64, is_primary=True)
    s.add_field("doc_id", pm.DataType.VARCHAR, max_length=512)
    s.add_field("start", pm.DataType.INT64)
    s.add_field("end", pm.DataType.INT64)
    s.add_field("text", pm.DataType.VARCHAR, max_length=MAX_TEXT)
    s.add_field("lexical", pm.DataType.VARCHAR, max_length=MAX_TEXT, enable_analyzer=True, enable_match=True,
                analyzer_params={"tokenizer": "standard"})
    s.add_field("sparse", pm.DataType.SPARSE_FLOAT_VECTOR)
    s.add_field("vector", pm.DataType.FLOAT_VECTOR, dim=dim)
    s.add_function(pm.Function(name="bm25", function_type=pm.FunctionType.BM25, input_field_names=["lexical"],
                               output_field_names=["sparse"]))
    ip = db.prepare_index_params()
    ip.add_index("vector", index_type="HNSW", metric_type="COSINE", params=HNSW)
    ip.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                 params={"bm25_k1": lexical.K1, "bm25_b": lexical.B})
    ip.add_index("doc_id", index_type="INVERTED")
    db.create_collection(chunk_coll, schema=s, index_params=ip, consistency_level="Strong")
    d = db.create_schema(auto_id=False)
    d.add_field("doc_id", pm.DataType.VARCHAR, max_length=512, is_primary=True)
    d.add_field("meta", pm.DataType.VARCHAR, max_length=MAX_TEXT)
    d.add_field("v", pm.DataType.FLOAT_VECTOR, dim=2)  # Milvus wants a vector in every collection
    ip = db.prepare_index_params()
    ip.add_index("v", index_type="FLAT", metric_type="L2")
    db.create_collection(doc_coll, schema=d, index_params=ip, consistency_level="Strong")
    db.insert(doc_coll, [{"doc_id": SETTINGS, "meta": json.dumps(want, sort_keys=True), "v": [0.0, 0.0]}])


def _open(db, want: dict, log, chunk_coll: str, doc_coll: str) -> None:
    """Create the collections, or recreate them when they were built with other settings."""
    if db.has_collection(chunk_coll) and db.has_collection(doc_coll):
        db.load_collection(doc_coll)
        rows = db.get(doc_coll, ids=[SETTINGS], output_fields=["meta"])
        have = json.loads(rows[0]["meta"]) if rows else {}
        changed = [k for k in want if have.get(k) != want[k]]
        if not changed:
            db.load_collection(chunk_coll)
            return
        log(f"rebuilding the Milvus collections ({changed[0]} changed)…")
    for name in (chunk_coll, doc_coll):
        if db.has_collection(name):
            db.drop_collection(name)
    _create(db, want, chunk_coll, doc_coll)


def _documents(db, doc_coll: str) -> dict[str, dict]:
    out = {}
    rows = int(db.query(doc_coll, filter="", output_fields=["count(*)"])[0]["count(*)"])
    if rows <= MAX_LIMIT:  # one query; Milvus Lite has no iterator timestamps
        got = db.query(doc_coll, filter="", output_fields=["doc_id", "meta"], limit=MAX_LIMIT)
        return {r["doc_id"]: json.loads(r["meta"]) for r in got if r["doc_id"] != SETTINGS}
    it = db.query_iterator(doc_coll, batch_size=1000, filter="", output_fields=["doc_id", "meta"])
    try:
        while batch := it.next():
            for row in batch:
                if row["doc_id"] != SETTINGS:
                    out[row["doc_id"]] = json.loads(row["meta"])
    finally:
        it.close()
    return out


def _quoted(ids) -> str:
    return json.dumps(list(ids))


class MilvusIndex:
    """A `Store` over the Milvus collections, as they were when it was opened (the manifest)."""

    def __init__(self, db, manifest: dict, collection: str) -> None:
        self.db = db
        self.coll = f"{collection}_chunks"
        self.manifest = manifest
        self.titles = {doc_id: d["title"] for doc_id, d in manifest["documents"].items()}
        self.count = sum(d["chunks"] for d in manifest["documents"].values())
        self._df: dict[str, int] = {}
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="milvus")

    def _search(self, field: str, data, pool: int, output: list[str], **kw) -> list[dict]:
        return self.db.search(self.coll, data=[data], anns_field=field, limit=pool, output_fields=output, **kw)[0]

    def candidates(self, query: np.ndarray | Callable[[], np.ndarray], text: str, pool: int
                   ) -> tuple[np.ndarray, list[Chunk], np.ndarray, np.ndarray]:
        """Both searches at once; the BM25 one starts before the question is embedded when
        `query` is the function that embeds it (Milvus Lite scores BM25 in Python: the slower side)."""
        pool = max(1, min(self.count, pool, MAX_LIMIT))
        words = " ".join(lexical.tokenize([text])[0])
        fields = ["doc_id", "start", "end", "text"]
        sparse = self._pool.submit(self._search, "sparse", words, pool, fields + ["vector"]) if words else None
        q = np.asarray(query() if callable(query) else query, np.float32).reshape(-1)
        dense = self._pool.submit(self._search, "vector", q.tolist(), pool, fields,
                                  search_params={"params": {"ef": max(EF_SEARCH, pool)}})
        found: dict[int, tuple[Chunk, float, float]] = {}
        for h in dense.result():
            e = h["entity"]
            found[h["id"]] = (Chunk(e["doc_id"], e["start"], e["end"], e["text"]), float(h["distance"]), 0.0)
        for h in sparse.result() if sparse else []:
            e = h["entity"]
            chunk, cos, _ = found.get(h["id"]) or (Chunk(e["doc_id"], e["start"], e["end"], e["text"]),
                                                   float(np.dot(e["vector"], q)), 0.0)
            found[h["id"]] = (chunk, cos, -float(h["distance"]))  # Milvus returns BM25 negated
        rows = np.fromiter(found, dtype=np.int64, count=len(found))
        chunks, cos, bm25 = zip(*found.values(), strict=True) if found else ((), (), ())
        return rows, list(chunks), np.array(cos, np.float32), np.array(bm25, np.float32)

    def vectors_of(self, rows: list[int]) -> np.ndarray:
        ids = [int(r) for r in rows]
        got = {r["id"]: r["vector"] for r in self.db.get(self.coll, ids=ids, output_fields=["vector"])}
        return np.array([got[int(r)] for r in rows], np.float32).reshape(len(rows), -1)

    def idf(self, tokens: list[str]) -> dict[str, float]:
        """BM25's IDF of each token, from how many chunks hold it (Milvus text match)."""
        missing = [t for t in dict.fromkeys(tokens) if t not in self._df]
        for t in missing:
            if not t.isalnum():  # stems are word characters; anything else cannot be matched
                self._df[t] = 0
                continue
            match = f'TEXT_MATCH(lexical, "{t}")'
            self._df[t] = int(self.db.query(self.coll, filter=match, output_fields=["count(*)"])[0]["count(*)"])
        n = self.count
        return {t: float(np.log(1 + (n - max(self._df[t], 1) + 0.5) / (max(self._df[t], 1) + 0.5))) for t in tokens}


def ensure(docs: list[Document], embedder, config: Config, base_settings: dict, log=print,
           progress: Callable[[Progress], None] | None = None, workers=None) -> MilvusIndex:
    """Bring the Milvus collections up to date with `docs`, embedding only what changed."""
    from .index import Local, writer_lock

    workers = workers or Local(embedder, config)
    want = settings(base_settings)
    db = client(config)
    chunk_coll, doc_coll = names = f"{config.milvus_collection}_chunks", f"{config.milvus_collection}_documents"
    with writer_lock(config.index_dir):
        try:
            _open(db, want, log, *names)
            have = _documents(db, doc_coll)
            wanted = {d.id: d for d in docs}
            gone = [i for i, m in have.items() if i not in wanted or m["sha256"] != wanted[i].sha256]
            todo = [d for d in docs if d.id not in have or have[d.id]["sha256"] != d.sha256]
            if gone:
                db.delete(doc_coll, ids=gone)
            # chunks of documents without a manifest row: changed, removed, or a killed run's
            db.delete(chunk_coll, filter=f"doc_id not in {_quoted(i for i in wanted if i not in todo)}")
            if todo:
                log(f"indexing {len(todo)} documents in Milvus ({uri(config)})…")
                for group in _embedded(todo, workers, config, progress):
                    _write(db, names, group)
            db.flush(chunk_coll)
            db.flush(doc_coll)
            have = _documents(db, doc_coll)
        except (BadIndexError, IndexWriteError):
            raise
        except Exception as e:  # pymilvus' own exceptions
            raise IndexWriteError(f"Milvus at {uri(config)} failed ({e}): check it and run `python -m rag index`") \
                from None
    documents = {d.id: have[d.id] for d in docs if d.id in have}
    return MilvusIndex(db, {**want, "documents": documents, "uri": uri(config)}, config.milvus_collection)


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


def _write(db, names: tuple[str, str], group: list[tuple[Document, list[Chunk], np.ndarray]]) -> None:
    """Documents' chunks, then their manifest rows (the mark that a document is complete)."""
    chunk_coll, doc_coll = names
    db.delete(chunk_coll, filter=f"doc_id in {_quoted(doc.id for doc, _, _ in group)}")
    chunks = [(c, doc.title, v) for doc, cs, vectors in group for c, v in zip(cs, vectors, strict=True)]
    words = lexical.tokenize([lexical.chunk_text(c, title) for c, title, _ in chunks]) if chunks else []
    rows = [{"id": chunk_id(c), "doc_id": c.doc_id, "start": c.start, "end": c.end, "text": _fits(c.text),
             "lexical": _fits(" ".join(w)), "vector": v.tolist()} for (c, _, v), w in zip(chunks, words, strict=True)]
    for k in range(0, len(rows), INSERT_ROWS):
        db.insert(chunk_coll, rows[k : k + INSERT_ROWS])
    meta = [{"doc_id": doc.id, "v": [0.0, 0.0], "meta": json.dumps(
        {"sha256": doc.sha256, "title": doc.title, "path": doc.path, "chunks": len(cs)}, ensure_ascii=False)}
        for doc, cs, _ in group]
    for k in range(0, len(meta), INSERT_ROWS):
        db.upsert(doc_coll, meta[k : k + INSERT_ROWS])
