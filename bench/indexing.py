"""Indexing throughput: the product's whole path beside the raw encoder, in one run.

Product path: SciFact records -> Documents -> chunk (tiktoken) -> embed (MiniLM, batched,
length-sorted, bf16 autocast where the CPU has it) -> FAISS + BM25 (`rag.storage.faiss_index.build`).
Raw encoder: `SentenceTransformer.encode` alone on the same chunk texts, batch size 32, in
fp32 and under the same autocast the product uses. Runs alternate and the medians are
compared. Leaves the chunks and their vectors in `shared` for the query benchmark.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from pathlib import Path

from . import SCIFACT, median


def run(args, shared: dict) -> dict:
    import torch

    from rag.config import Config
    from rag.evaluation.data import beir_documents
    from rag.ingest.chunk import chunk_document
    from rag.models.embed import MiniLM
    from rag.storage.faiss_index import build

    config = Config()
    embedder = shared.setdefault("embedder", MiniLM())
    model = embedder.load()
    subset = Path(tempfile.mkdtemp()) / "corpus.jsonl"  # the first N records, read as a whole corpus
    with open(SCIFACT / "corpus.jsonl", encoding="utf-8") as f:
        subset.write_text("".join(line for _, line in zip(range(args.docs), f, strict=False)), encoding="utf-8")
    docs = beir_documents(subset)
    texts = [c.text for d in docs for c in chunk_document(d, config.chunk_tokens, config.chunk_overlap)]
    build(docs, embedder, config)  # warm-up: kernels for every sequence length, both precisions
    model.encode(texts, batch_size=32, show_progress_bar=False)
    same = torch.autocast("cpu", dtype=torch.bfloat16) if embedder.bf16 else contextlib.nullcontext()
    runs: dict[str, list[float]] = {"product": [], "raw_fp32": [], "raw_same_precision": []}
    index = None
    for _ in range(args.repeats):
        t = time.perf_counter()
        index = build(beir_documents(subset), embedder, config)
        runs["product"].append(len(index.chunks) / (time.perf_counter() - t))
        for name, precision in (("raw_fp32", contextlib.nullcontext()), ("raw_same_precision", same)):
            t = time.perf_counter()
            with precision:
                model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
            runs[name].append(len(texts) / (time.perf_counter() - t))
    shared["index"] = index
    med = {k: median(v) for k, v in runs.items()}
    return {
        "documents": args.docs, "chunks": len(texts), "repeats": args.repeats, "bf16": embedder.bf16,
        "product_chunks_per_s": med["product"], "raw_fp32_chunks_per_s": med["raw_fp32"],
        "raw_same_precision_chunks_per_s": med["raw_same_precision"],
        "ratio_to_raw_fp32": med["product"] / med["raw_fp32"],
        "ratio_to_raw_same_precision": med["product"] / med["raw_same_precision"],
        "target_ratio": 0.90,
    }


def table(r: dict) -> list[tuple[str, str, str]]:
    return [("indexing throughput (SciFact, whole path)",
             f"{r['product_chunks_per_s']:.1f} chunks/s ({r['chunks']} chunks); raw encoder "
             f"{r['raw_same_precision_chunks_per_s']:.1f} at the same precision, {r['raw_fp32_chunks_per_s']:.1f} fp32",
             f"ratio {r['ratio_to_raw_same_precision']:.2f} (target >= 0.90); "
             f"{r['ratio_to_raw_fp32']:.2f} to raw fp32")]
