"""The retrieval tuning grid behind rag/storage/retrieve.py and rag/storage/bm25.py, on SciFact train.

    .venv/bin/python tools/tune_retrieval.py [--split train]

Uses the evaluation index that `python -m rag eval retrieval` caches (built on first use),
scores every query's candidates once per BM25 variant, and prints nDCG@10 / R@100 for the
fusion methods and weights that were compared. Tuning only ever looks at the train split.
"""

import argparse
from pathlib import Path

import numpy as np

from rag.config import Config
from rag.evaluation.data import beir_documents, cached_config, read_jsonl, read_qrels, split_files
from rag.evaluation.metrics import evaluate
from rag.models.embed import MiniLM
from rag.storage import bm25 as lexical
from rag.storage import ensure
from rag.storage import retrieve as rt
from rag.storage.build import terminal_bar

POOL = 300


def minmax_fusion(cos, bm25, alpha):
    span, top = cos.max() - cos.min(), bm25.max()
    dense = (cos - cos.min()) / span if span > 0 else 0 * cos
    return alpha * dense + (1 - alpha) * (bm25 / top if top > 0 else 0 * bm25)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared/eval/scifact")
    ap.add_argument("--split", default="train")
    args = ap.parse_args()
    queries_file, qrels_file = split_files(args.data, args.split)
    qrels = read_qrels(qrels_file)
    queries = {str(q["id"]): q["text"] for q in read_jsonl(queries_file) if str(q["id"]) in qrels}
    docs = beir_documents(args.data / "corpus.jsonl")
    embedder = MiniLM()
    config = cached_config(Config(), args.data / "corpus.jsonl")
    index = ensure(docs, embedder, config, log=print, progress=terminal_bar())
    ids = list(queries)
    vectors = embedder.encode([queries[q] for q in ids], batch_size=64)
    matrix = index.vectors.reconstruct_n(0, index.vectors.ntotal)
    doc_of = np.array([c.doc_id for c in index.chunks])
    titles = {d.id: d.title for d in docs}

    def run(bm25_model, fuse):
        ranked = {}
        for q, v in zip(ids, vectors, strict=True):
            cos = matrix @ v
            bm = lexical.scores(bm25_model, queries[q])
            rows = np.unique(np.concatenate([np.argpartition(-cos, POOL)[:POOL], np.argpartition(-bm, POOL)[:POOL]]))
            fused = fuse(cos[rows], bm[rows])
            seen: dict[str, None] = {}
            for i in np.argsort(-fused, kind="stable"):
                seen.setdefault(doc_of[rows[i]], None)
            ranked[q] = list(seen)
        m = evaluate(ranked, qrels)
        return f"nDCG@10 {m['ndcg@10']:.4f}  R@100 {m['recall@100']:.4f}"

    plain = lexical.build([c.text for c in index.chunks])
    titled = index.bm25  # the product's: title + chunk
    print("dense only               ", run(plain, lambda c, b: c))
    print("BM25 only, chunk text    ", run(plain, lambda c, b: b))
    print("BM25 only, title + chunk ", run(titled, lambda c, b: b))
    for k1, b in ((1.2, 0.75), (1.5, 0.75), (0.9, 0.75), (1.2, 0.5)):
        variant = lexical.build([lexical.chunk_text(c, titles[c.doc_id]) for c in index.chunks], k1=k1, b=b)
        print(f"BM25 k1={k1} b={b}, hybrid z 0.6", run(variant, lambda c, b_: rt.fuse_zscore(c, b_, 0.6)))
    print("hybrid, RRF              ", run(titled, rt.fuse_rrf))
    for alpha in (0.4, 0.5, 0.6, 0.65, 0.7):
        print(f"hybrid, min-max a={alpha:<4}   ", run(titled, lambda c, b, a=alpha: minmax_fusion(c, b, a)))
        print(f"hybrid, z-score a={alpha:<4}   ", run(titled, lambda c, b, a=alpha: rt.fuse_zscore(c, b, a)))
    print("hybrid z 0.6, chunk-text BM25", run(plain, lambda c, b: rt.fuse_zscore(c, b, 0.6)))


if __name__ == "__main__":
    main()
