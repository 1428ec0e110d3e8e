"""Indexing throughput: the product's whole path beside the raw encoder, in one run.

    .venv/bin/python bench/index_speed.py [--docs 600] [--repeats 3]

Product path: SciFact records -> Documents -> chunk (tiktoken) -> embed (MiniLM, batched,
length-sorted, bf16 autocast where the CPU has it) -> FAISS + BM25 (`rag.index.build`).
Raw encoder: `SentenceTransformer.encode` alone on the same chunk texts, batch size 32, in
fp32 and under the same autocast the product uses. Runs alternate, and the medians are
compared, so a busy machine slows all alike. Prints chunks/s for each and the ratios.
"""

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

import torch

from rag.chunk import chunk_document
from rag.config import Config
from rag.embed import MiniLM
from rag.evaluate import beir_documents
from rag.index import build

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "scifact" / "corpus.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    config = Config()
    embedder = MiniLM()
    model = embedder.load()
    subset = Path(tempfile.mkdtemp()) / "corpus.jsonl"  # the first N records, read as a whole corpus
    with open(args.data, encoding="utf-8") as f:
        subset.write_text("".join(line for _, line in zip(range(args.docs), f, strict=False)), encoding="utf-8")
    docs = beir_documents(subset)
    texts = [c.text for d in docs for c in chunk_document(d, config.chunk_tokens, config.chunk_overlap)]
    build(docs, embedder, config)  # warm-up: kernels for every sequence length, both precisions
    model.encode(texts, batch_size=32, show_progress_bar=False)
    same = torch.autocast("cpu", dtype=torch.bfloat16) if embedder.bf16 else contextlib.nullcontext()
    runs: dict[str, list[float]] = {"product": [], "raw fp32": [], "raw, product precision": []}
    for _ in range(args.repeats):
        t = time.perf_counter()
        index = build(beir_documents(subset), embedder, config)
        runs["product"].append(len(index.chunks) / (time.perf_counter() - t))
        for name, precision in (("raw fp32", contextlib.nullcontext()), ("raw, product precision", same)):
            t = time.perf_counter()
            with precision:
                model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
            runs[name].append(len(texts) / (time.perf_counter() - t))
    med = {k: statistics.median(v) for k, v in runs.items()}
    print(f"{args.docs} documents, {len(texts)} chunks, {args.repeats} repeats (medians); embedder {embedder.name}")
    print(f"product path (read, chunk, embed, FAISS + BM25): {med['product']:.1f} chunks/s, "
          f"{args.docs * med['product'] / len(texts):.1f} documents/s")
    print(f"raw SentenceTransformer.encode, fp32:            {med['raw fp32']:.1f} chunks/s")
    print(f"raw SentenceTransformer.encode, same precision:  {med['raw, product precision']:.1f} chunks/s")
    print(f"ratio to raw fp32: {med['product'] / med['raw fp32']:.2f}; "
          f"to raw at the same precision: {med['product'] / med['raw, product precision']:.2f}")


if __name__ == "__main__":
    main()
