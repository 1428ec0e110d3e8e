"""How the Milvus store fuses its two sides, measured on SciFact (rag/storage/milvus_index.py's choice).

    python tools/milvus_choices.py [--data ../shared/eval/scifact] [--split train]

Over the evaluation's Milvus Lite index (built by `RAG_STORE=milvus python -m rag eval
retrieval`, or here on first use), for every query: the 300 nearest vectors and the 300 best
BM25 scores (rag/storage/bm25.py's sparse vectors), then nDCG@10 of
- zscore/0: our z-score fusion, a candidate only the dense side found scoring BM25 0 (the product);
- zscore/min: the same, such a candidate scoring the lowest BM25 score of the pool;
- zscore/exact: the same, with its true BM25 score (a third, filtered search);
- milvus rrf / weighted: Milvus' own `hybrid_search` with RRFRanker(60) / WeightedRanker(0.6, 0.4).
Choose on --split train; the test split is for the README.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.config import Config  # noqa: E402
from rag.evaluation.data import beir_documents, cached_config, read_jsonl, read_qrels, split_files  # noqa: E402
from rag.evaluation.metrics import evaluate  # noqa: E402
from rag.models.embed import MiniLM  # noqa: E402
from rag.storage import bm25 as lexical  # noqa: E402
from rag.storage import ensure, retrieve  # noqa: E402

POOL = 300


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default="../shared/eval/scifact")
    ap.add_argument("--split", default="train")
    args = ap.parse_args()
    data = Path(args.data)
    from pymilvus import AnnSearchRequest, RRFRanker, WeightedRanker

    config = cached_config(Config(store="milvus"), data / "corpus.jsonl")
    embedder = MiniLM()
    index = ensure(beir_documents(data / "corpus.jsonl"), embedder, config, log=print)
    db, coll = index.db, index.names.chunks
    queries_file, qrels_file = split_files(data, args.split)
    qrels = read_qrels(qrels_file)
    queries = {str(q["id"]): q["text"] for q in read_jsonl(queries_file) if str(q["id"]) in qrels}
    ids = list(queries)
    vectors = embedder.encode([queries[q] for q in ids], batch_size=64)
    fields = ["doc_id"]
    names = ("zscore/0", "zscore/min", "zscore/exact", "milvus rrf", "milvus weighted")
    runs: dict[str, dict[str, list[str]]] = {k: {} for k in names}
    for q, v in zip(ids, vectors, strict=True):
        words = index.query_weights(queries[q]) or {lexical.EMPTY: 1.0}
        dense = db.search(coll, data=[v.tolist()], anns_field="vector", limit=POOL, output_fields=fields)[0]
        sparse = db.search(coll, data=[words], anns_field="sparse", limit=POOL, output_fields=fields + ["vector"])[0]
        doc = {h["id"]: h["entity"]["doc_id"] for h in dense + sparse}
        cos = {h["id"]: h["distance"] for h in dense}
        cos.update({h["id"]: float(np.dot(h["entity"]["vector"], v)) for h in sparse if h["id"] not in cos})
        bm25 = {h["id"]: h["distance"] for h in sparse}
        rows = list(cos)
        only_dense = [r for r in rows if r not in bm25]
        exact = dict(bm25)
        if only_dense:
            for h in db.search(coll, data=[words], anns_field="sparse", limit=len(only_dense),
                               filter=f"id in {only_dense}")[0]:
                exact[h["id"]] = h["distance"]
        c = np.array([cos[r] for r in rows], np.float32)
        floor = min(bm25.values(), default=0.0)
        filled = {"zscore/0": [bm25.get(r, 0.0) for r in rows], "zscore/min": [bm25.get(r, floor) for r in rows],
                  "zscore/exact": [exact.get(r, 0.0) for r in rows]}
        for name, b in filled.items():
            fused = retrieve.fuse_zscore(c, np.array(b, np.float32))
            runs[name][q] = list(dict.fromkeys(doc[rows[i]] for i in np.argsort(-fused, kind="stable")))
        requests = [AnnSearchRequest([v.tolist()], "vector", {}, POOL),
                    AnnSearchRequest([words], "sparse", {}, POOL)]
        for name, ranker in (("milvus rrf", RRFRanker(60)), ("milvus weighted", WeightedRanker(0.6, 0.4))):
            hits = db.hybrid_search(coll, requests, ranker, limit=POOL, output_fields=fields)[0]
            runs[name][q] = list(dict.fromkeys(h["entity"]["doc_id"] for h in hits))
    print(f"SciFact {args.split}, {len(ids)} queries, {index.count} chunks in Milvus Lite")
    for name, run in runs.items():
        print(f"{name:16s} nDCG@10 {evaluate(run, qrels)['ndcg@10']:.4f}")


if __name__ == "__main__":
    main()
