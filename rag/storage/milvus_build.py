"""Bringing the Milvus collections up to date with the documents (`RAG_STORE=milvus`).

Updates go document by document, so the store never holds a corpus twice: a changed or
removed document's chunks are deleted, a new one's inserted, then its manifest row written.
A killed run leaves at most documents without a row: the next run deletes their chunks and
indexes them again, so nothing is indexed twice or lost (a kill between a batch of chunks and
its term counts leaves those counts off until that document is indexed again). avgdl (BM25's
length norm) is measured on the first documents written and kept: adding a document never
rewrites the others. Reading the collections is rag/storage/milvus_index.py.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable, Iterator

import numpy as np

from ..config import Config
from ..errors import BadIndexError, IndexWriteError
from ..text import tokenize
from ..types import Chunk, Document, Progress
from . import bm25
from .base import settings as base_settings
from .build import Local, Tally, embed_all, writer_lock
from .milvus_index import (
    HNSW,
    INSERT_ROWS,
    MAX_LIMIT,
    MAX_TEXT,
    SETTINGS,
    MilvusIndex,
    Names,
    _frequencies,
    _pymilvus,
    client,
    is_local,
    settings,
    uri,
)


def chunk_id(c: Chunk) -> int:
    """A stable 63-bit key: the same chunk always lands on the same row."""
    digest = hashlib.blake2b(f"{c.doc_id}\0{c.start}\0{c.end}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


def _fits(text: str, limit: int = MAX_TEXT) -> str:
    raw = text.encode()
    return text if len(raw) <= limit else raw[:limit].decode(errors="ignore")


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


def _count_terms(db, names: Names, change: Counter) -> None:
    """Add `change` (term id -> chunks gained, or lost when negative) to the document frequencies."""
    change.pop(bm25.EMPTY, None)
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


def ensure(docs: list[Document], embedder, config: Config, log=print,
           progress: Callable[[Progress], None] | None = None, workers=None) -> MilvusIndex:
    """Bring the Milvus collections up to date with `docs`, embedding only what changed."""
    workers = workers or Local(embedder, config)
    want = {**settings(base_settings(embedder, config)), "vector_index": "FLAT" if is_local(uri(config)) else "HNSW"}
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
    texts = [bm25.chunk_text(c, doc.title) for doc, cs, _ in group for c in cs]
    return tokenize(texts) if texts else []


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
        tally = Tally([len(cs) for cs in chunked[i:j]], docs_done, len(todo), total, progress, done)
        vectors = embed_all(texts, workers, config.embed_batch, tally)
        done = tally.done
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
    sparse = [bm25.chunk_weights(w, avgdl) for w in _words(group)]
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
