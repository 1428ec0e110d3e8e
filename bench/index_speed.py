"""Indexing throughput: the product's whole path beside the raw encoder, in one run.

    .venv/bin/python bench/index_speed.py [--docs 600] [--repeats 2]

Product path: SciFact records -> Documents -> chunk (tiktoken) -> embed (MiniLM, batched,
length-sorted) -> FAISS + BM25 (`rag.index.build`). Raw encoder: `SentenceTransformer.encode`
alone on the same chunk texts, batch size 32. Runs alternate, and the medians are compared,
so a busy machine slows both alike. Prints chunks/s for each and their ratio.
"""

import argparse
import statistics
import time
from pathlib import Path

from rag.chunk import chunk_document
from rag.config import Config
from rag.embed import MiniLM
from rag.evaluate import beir_documents
from rag.index import build

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "eval" / "scifact" / "corpus.jsonl"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--docs", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--data", type=Path, default=DATA)
    args = ap.parse_args()
    config = Config()
    embedder = MiniLM()
    model = embedder.load()
    docs = beir_documents(args.data)[: args.docs]
    texts = [c.text for d in docs for c in chunk_document(d, config.chunk_tokens, config.chunk_overlap)]
    model.encode(texts[:64], batch_size=32)  # warm-up
    product, raw = [], []
    for _ in range(args.repeats):
        t = time.perf_counter()
        index = build(beir_documents(args.data)[: args.docs], embedder, config)
        product.append(len(index.chunks) / (time.perf_counter() - t))
        t = time.perf_counter()
        model.encode(texts, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
        raw.append(len(texts) / (time.perf_counter() - t))
    p, r = statistics.median(product), statistics.median(raw)
    print(f"{args.docs} documents, {len(texts)} chunks, {args.repeats} repeats (medians)")
    print(f"product path (read, chunk, embed, FAISS + BM25): {p:.1f} chunks/s")
    print(f"raw encoder (SentenceTransformer.encode):         {r:.1f} chunks/s")
    print(f"ratio: {p / r:.2f}")


if __name__ == "__main__":
    main()
