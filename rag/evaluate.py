"""`python -m rag eval retrieval`: the product's retrieval measured on BEIR-format data.

The corpus goes through the product's own path (Document -> chunk -> embed -> FAISS +
BM25 index, `rag.index.ensure`), cached under .cache/eval/ by content hash so a second
run does not re-embed. Each query is answered by `rag.retrieve.search`; a document scores
as its best chunk. Dense-only (alpha=1), BM25-only (alpha=0) and hybrid are reported
side by side, with the time of each stage and the p50 latency of one product query
(embed the question + fused search for the top 4 chunks).
"""

from __future__ import annotations

import hashlib
import json
import statistics
import time
from dataclasses import replace
from pathlib import Path

from . import retrieve
from .config import Config
from .embed import MiniLM
from .index import ensure
from .ingest import normalize
from .metrics import evaluate
from .types import Document

RANKED_CHUNKS = 300  # chunks fetched per query: enough for 100 distinct documents


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def read_qrels(path: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    with open(path, encoding="utf-8") as f:
        next(f)  # header
        for line in f:
            parts = line.strip().split("\t")
            if len(parts) == 3:
                qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return qrels


def beir_documents(corpus: Path) -> list[Document]:
    """BEIR records as Documents whose text starts with the title, as a file would."""
    docs = []
    for row in read_jsonl(corpus):
        title = normalize(row.get("title") or "")
        text = normalize(f"{title}\n{row.get('text') or ''}")
        docs.append(Document(str(row["id"]), title or str(row["id"]), text, f"{corpus}#{row['id']}",
                             hashlib.sha256(text.encode()).hexdigest()))
    return docs


def split_files(data: Path, split: str) -> tuple[Path, Path]:
    if split == "test":
        return data / "queries.jsonl", data / "qrels.tsv"
    return data / f"queries_{split}.jsonl", data / f"qrels_{split}.tsv"


def rank_documents(hits) -> list[str]:
    """Document ids by their best chunk's score (hits are already best first)."""
    seen: dict[str, None] = {}
    for h in hits:
        seen.setdefault(h.chunk.doc_id, None)
    return list(seen)


def eval_retrieval(data: Path, split: str = "test", alpha: float = retrieve.ALPHA, fusion: str = "zscore",
                   config: Config | None = None, log=print) -> dict:
    config = config or Config()
    queries_file, qrels_file = split_files(data, split)
    qrels = read_qrels(qrels_file)
    queries = {str(q["id"]): q["text"] for q in read_jsonl(queries_file) if str(q["id"]) in qrels}
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    docs = beir_documents(data / "corpus.jsonl")
    embedder = MiniLM()
    key = hashlib.sha256((data / "corpus.jsonl").read_bytes()).hexdigest()[:16]
    config = replace(config, index_dir=config.cache_dir / "eval" / f"{data.name}-{key}")
    seconds["read"] = time.perf_counter() - t
    t = time.perf_counter()
    index = ensure(docs, embedder, config, log=log, progress=True)
    seconds["index"] = time.perf_counter() - t

    t = time.perf_counter()
    ids = list(queries)
    vectors = embedder.encode([queries[q] for q in ids], batch_size=64)
    seconds["embed_queries"] = time.perf_counter() - t

    modes = {"dense": (1.0, "zscore"), "bm25": (0.0, "zscore"), "hybrid": (alpha, fusion)}
    results = {}
    for mode, (a, f) in modes.items():
        t = time.perf_counter()
        run = {q: rank_documents(retrieve.search(index, v, queries[q], RANKED_CHUNKS, alpha=a,
                                                 pool=RANKED_CHUNKS, fusion=f))
               for q, v in zip(ids, vectors, strict=True)}
        seconds[f"search_{mode}"] = time.perf_counter() - t
        results[mode] = evaluate(run, qrels)

    latencies = []  # one product query: embed the question, fused search for the top k
    for q in ids[:100]:
        t = time.perf_counter()
        retrieve.search(index, embedder.encode([queries[q]])[0], queries[q], config.top_k, alpha=alpha, fusion=fusion)
        latencies.append(time.perf_counter() - t)
    out = dict(results["hybrid"])
    out.update(seconds=seconds, modes=results, chunks=len(index.chunks), documents=len(docs),
               query_ms_p50=1000 * statistics.median(latencies), alpha=alpha, fusion=fusion, split=split)
    return out


def table(result: dict) -> str:
    lines = ["| retrieval | nDCG@10 | Recall@10 | Recall@100 | MRR@10 |", "| --- | --- | --- | --- | --- |"]
    for mode, m in result["modes"].items():
        lines.append(f"| {mode} | {m['ndcg@10']:.4f} | {m['recall@10']:.4f} | {m['recall@100']:.4f} | "
                     f"{m['mrr@10']:.4f} |")
    s = result["seconds"]
    lines.append(f"\n{result['queries']} queries ({result['split']}), {result['documents']} documents, "
                 f"{result['chunks']} chunks; fusion {result['fusion']}, alpha {result['alpha']}")
    lines.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in s.items()))
    lines.append(f"one product query (embed + fused search, top 4): p50 {result['query_ms_p50']:.1f} ms")
    return "\n".join(lines)
