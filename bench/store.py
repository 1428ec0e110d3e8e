"""The limits of one machine: each store's memory, disk and query time as the corpus grows,
and ingestion in one process beside Ray (docs/scale.md reads these).

Stores: FAISS exact (IndexFlatIP) and FAISS HNSW, each with bm25s beside it (the default
store), and Milvus Lite (rag/storage/milvus_index.py). Each (store, size) runs in a fresh process, so its
memory is its own: RSS of the loaded store (after the models are loaded, before building),
the bytes it writes to disk, the build time, and the p50/p95 of one product query
(embed the question + `retrieve.search`) over SciFact test queries. The rows are the indexed
chunks repeated with noise, as in bench/query.py.

Ingestion: the same documents indexed by `rag.storage.faiss_index.build` in this process and with
`RayWorkers` on a Ray local cluster (the cluster's start-up timed apart).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import ROOT, SCIFACT, median, percentile

STORES = ("faiss-flat", "faiss-hnsw", "milvus-lite")
# Milvus Lite 2.5 takes ~3 s of its server's CPU per 1,000 rows inserted (the 50k build: see
# docs/scale.md), so 500k would hold the benchmark ~25 min: it runs at the smaller size only
LITE_MAX = 100_000


def _rss_mb(pid: int | str = "self") -> float:
    """RSS of a process and of its children (Milvus Lite's engine runs in one)."""
    with open(f"/proc/{pid}/status") as f:
        rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS")) / 1024
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            rss += _rss_mb(child)
    return rss


def _disk_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in Path(path).rglob("*") if p.is_file()) / 1e6


def _faiss_store(base, size: int, kind: str, folder: Path):
    import rag.storage.faiss_index as ix

    from .query import grown

    threshold = ix.HNSW_THRESHOLD
    ix.HNSW_THRESHOLD = 0 if kind == "faiss-hnsw" else 10**12  # the kind asked for, whatever the size
    try:
        index = grown(base, size)
    finally:
        ix.HNSW_THRESHOLD = threshold
    ix.save(index, folder)
    return index


def _milvus_store(base, size: int, folder: Path):
    from collections import Counter

    from rag.config import Config
    from rag.models.embed import MiniLM
    from rag.storage import bm25 as lexical
    from rag.storage import milvus_build
    from rag.storage import milvus_index as milvus
    from rag.storage.base import settings as _settings
    from rag.text import tokenize

    config = Config(store="milvus", milvus_uri=str(folder / "milvus.db"), index_dir=folder)
    db = milvus.client(config)
    names = milvus.Names.of("rag")
    want = {**milvus.settings(_settings(MiniLM(), config)), "vector_index": "FLAT"}  # name and dim: no model loaded
    milvus_build._open(db, want, print, names)
    n = len(base.chunks)
    vecs = base.vectors.reconstruct_n(0, n)
    titles = base.titles
    words = tokenize([lexical.chunk_text(c, titles[c.doc_id]) for c in base.chunks])
    avgdl = float(np.mean([max(1, len(w)) for w in words]))
    sparse = [lexical.chunk_weights(w, avgdl) for w in words]
    rng = np.random.default_rng(0)
    for start in range(0, size, 5000):
        rows = np.arange(start, min(size, start + 5000))
        v = vecs[rows % n] + (rows >= n)[:, None] * rng.normal(0, 0.02, (len(rows), vecs.shape[1])).astype(np.float32)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
        db.insert(names.chunks, [{"id": int(r), "doc_id": base.chunks[r % n].doc_id, "start": base.chunks[r % n].start,
                                  "end": base.chunks[r % n].end, "text": base.chunks[r % n].text,
                                  "sparse": sparse[r % n], "terms": " ".join(map(str, sparse[r % n])),
                                  "vector": v[k].tolist()} for k, r in enumerate(rows)])
    milvus_build._count_terms(db, names, Counter(t for r in range(size) for t in sparse[r % n]))
    for name in (names.chunks, names.terms):
        db.flush(name)
    documents = {doc_id: {"title": t, "chunks": 0} for doc_id, t in titles.items()}
    next(iter(documents.values()))["chunks"] = size
    return milvus.MilvusIndex(db, {**want, "documents": documents}, "rag")


def child(store: str, size: int, base_dir: str, queries: int) -> dict:
    """One (store, size) in this process: printed as JSON for the parent."""
    from rag.config import Config
    from rag.evaluation.data import read_jsonl
    from rag.models.embed import MiniLM
    from rag.storage import retrieve
    from rag.storage.faiss_index import load

    embedder = MiniLM()
    embedder.load()
    embedder.encode(["warm up"])
    base = load(Path(base_dir), embedder, Config(), strict=False)
    texts = [q["text"] for q in read_jsonl(SCIFACT / "queries.jsonl")][:queries]
    before = _rss_mb()
    folder = Path(tempfile.mkdtemp(prefix=f"bench-{store}-"))
    t = time.perf_counter()
    index = _milvus_store(base, size, folder) if store == "milvus-lite" else _faiss_store(base, size, store, folder)
    built = time.perf_counter() - t
    rss = _rss_mb() - before
    for q in texts[:5]:
        retrieve.search(index, embedder.encode([q])[0], q, 4)
    times = []
    for q in texts:  # as the pipeline asks: the store may search the text while the question is embedded
        t = time.perf_counter()
        retrieve.search(index, lambda q=q: embedder.encode([q])[0], q, 4)
        times.append(time.perf_counter() - t)
    return {"build_s": built, "rss_mb": rss, "disk_mb": _disk_mb(folder), "p50_ms": 1000 * median(times),
            "p95_ms": 1000 * percentile(times, 95)}


def _ingest(args, shared: dict) -> dict:
    from rag.config import Config
    from rag.evaluation.data import beir_documents
    from rag.storage import ray_workers as distributed
    from rag.storage.faiss_index import build

    subset = Path(tempfile.mkdtemp()) / "corpus.jsonl"
    n = args.docs if args.quick else 1500  # ~4,500 chunks: 9 blocks, enough to keep every actor busy
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        subset.write_text("".join(line for _, line in zip(range(n), f, strict=False)), encoding="utf-8")
    docs = beir_documents(subset)
    config = Config()
    embedder = shared["embedder"]
    t = time.perf_counter()
    index = build(docs, embedder, config)
    local = index.count / (time.perf_counter() - t)
    t = time.perf_counter()
    distributed.start(cpus=os.cpu_count())
    started = time.perf_counter() - t
    try:
        workers = distributed.RayWorkers(config)
        build(docs[:5], embedder, config, workers=workers)  # actors up, model loaded
        t = time.perf_counter()
        ray_index = build(docs, embedder, config, workers=workers)
        ray = ray_index.count / (time.perf_counter() - t)
    finally:
        distributed.stop()
    return {"documents": len(docs), "chunks": index.count, "single_process_chunks_per_s": local,
            "ray_local_chunks_per_s": ray, "ray_start_s": started, "ray_actors": workers.actors}


def run(args, shared: dict) -> dict:
    from rag.storage.faiss_index import save

    base_dir = Path(tempfile.mkdtemp(prefix="bench-base-"))
    save(shared["index"], base_dir)
    sizes = [args.sizes[0], args.sizes[-1]] if args.quick else [50_000, 500_000]
    out: dict = {"sizes": {}, "queries": args.queries}
    for size in sizes:
        for store in STORES:
            if store == "milvus-lite" and size > LITE_MAX:
                out["sizes"].setdefault(str(size), {})[store] = {"error": [f"not run above {LITE_MAX:,} chunks"]}
                continue
            proc = subprocess.run([sys.executable, "-m", "bench.store", store, str(size), str(base_dir),
                                   str(args.queries)], cwd=ROOT, capture_output=True, text=True, timeout=3600)
            if proc.returncode != 0:
                out["sizes"].setdefault(str(size), {})[store] = {"error": proc.stderr.strip().splitlines()[-1:]}
                continue
            out["sizes"].setdefault(str(size), {})[store] = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"[bench] store {store} {size:,}: {out['sizes'][str(size)][store]}", flush=True)
    out["ingest"] = _ingest(args, shared)
    out["targets"] = {"milvus_lite_p50_ms_at_50k": 60}
    return out


def table(r: dict) -> list[tuple[str, str, str]]:
    rows = []
    for size, stores in r["sizes"].items():
        for store, s in stores.items():
            if "error" in s:
                rows.append((f"{store} at {int(size):,} chunks", "failed", " ".join(s["error"])))
                continue
            latency = f"p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms"
            rows.append((f"{store} at {int(size):,} chunks: query", latency,
                         f"RSS +{s['rss_mb']:.0f} MB, disk {s['disk_mb']:.0f} MB, built in {s['build_s']:.0f} s"
                         + (" (target p50 <= 60 ms)" if store == "milvus-lite" and size == "50000" else "")))
    i = r["ingest"]
    rows.append((f"ingestion, {i['chunks']} chunks", f"Ray local {i['ray_local_chunks_per_s']:.0f} chunks/s "
                 f"({i['ray_actors']} actors)", f"one process {i['single_process_chunks_per_s']:.0f} chunks/s; "
                 f"cluster start {i['ray_start_s']:.1f} s"))
    return rows


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))))
