"""Query latency: embed the question + hybrid search (FAISS + BM25, fused), as `retrieve` runs it.

The index sizes beyond the real SciFact chunks are made by repeating their vectors with
Gaussian noise (renormalised) and their BM25 token lists, through the product's own
`vector_index` (exact below 50k rows, HNSW from 50k) and `lexical` model. Reports p50 and
p95 per size over SciFact test queries, split into embedding, dense and lexical time so the
growth shows where it comes from.
"""

from __future__ import annotations

import time

import numpy as np

from . import SCIFACT, median, percentile


def grown(base, size: int, seed: int = 0):
    """An Index of `size` rows made from `base` (an Index) by repetition with noise."""
    import bm25s

    from rag.storage import bm25 as lexical
    from rag.storage.faiss_index import Index, vector_index
    from rag.text import tokenize

    n = len(base.chunks)
    rows = np.arange(size) % n
    vecs = base.vectors.reconstruct_n(0, n)[rows]
    if size > n:
        noise = np.random.default_rng(seed).normal(0, 0.02, vecs.shape).astype(np.float32)
        noise[:n] = 0
        vecs = vecs + noise
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    titles = base.titles
    tokens = tokenize([lexical.chunk_text(c, titles[c.doc_id]) for c in base.chunks])
    model = bm25s.BM25(k1=lexical.K1, b=lexical.B)
    model.index([tokens[i] or ["\x00"] for i in rows], show_progress=False)
    return Index(base.manifest, [base.chunks[i] for i in rows], vector_index(vecs, vecs.shape[1]), model)


def run(args, shared: dict) -> dict:
    from rag.evaluation.data import read_jsonl
    from rag.storage import bm25 as lexical
    from rag.storage import retrieve
    from rag.storage.faiss_index import _single_thread

    base, embedder = shared["index"], shared["embedder"]
    queries = [q["text"] for q in read_jsonl(SCIFACT / "queries.jsonl")][: args.queries]
    out = {"queries": len(queries), "base_chunks": len(base.chunks), "sizes": {}}
    for size in args.sizes:
        t = time.perf_counter()
        index = grown(base, size)
        built = time.perf_counter() - t
        for q in queries[:5]:  # warm-up
            retrieve.search(index, embedder.encode([q])[0], q, 4)
        total, embed, dense, lex = [], [], [], []
        for q in queries:
            t0 = time.perf_counter()
            vec = embedder.encode([q])[0]
            t1 = time.perf_counter()
            retrieve.search(index, vec, q, 4)
            t2 = time.perf_counter()
            total.append(t2 - t0)
            embed.append(t1 - t0)
            with _single_thread():
                t3 = time.perf_counter()
                index.vectors.search(vec.reshape(1, -1), retrieve.POOL)
                t4 = time.perf_counter()
            lexical.scores(index.bm25, q)
            lex.append(time.perf_counter() - t4)
            dense.append(t4 - t3)
        out["sizes"][str(size)] = {
            "kind": "HNSW" if hasattr(index.vectors, "hnsw") else "exact", "build_s": built,
            "p50_ms": 1000 * median(total), "p95_ms": 1000 * percentile(total, 95),
            "embed_p50_ms": 1000 * median(embed), "dense_p50_ms": 1000 * median(dense),
            "bm25_p50_ms": 1000 * median(lex),
        }
        del index
    sizes = [str(s) for s in args.sizes]
    out["growth_p50"] = out["sizes"][sizes[-1]]["p50_ms"] / out["sizes"][sizes[0]]["p50_ms"]
    out["targets"] = {"p50_ms_at_50k": 30, "growth_5k_to_500k": 3}
    return out


def table(r: dict) -> list[tuple[str, str, str]]:
    rows = []
    for size, s in r["sizes"].items():
        rows.append((f"query latency at {int(size):,} chunks ({s['kind']})",
                     f"p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms",
                     f"embed {s['embed_p50_ms']:.1f} + dense {s['dense_p50_ms']:.1f} + BM25 {s['bm25_p50_ms']:.1f} ms"
                     + (" (target p50 <= 30 ms)" if size == "50000" else "")))
    rows.append(("query latency growth, smallest to largest size", f"{r['growth_p50']:.2f}x p50", "target <= 3x"))
    return rows
