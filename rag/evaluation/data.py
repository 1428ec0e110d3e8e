"""Benchmark files read into the product's records: BEIR corpora (corpus.jsonl), queries and
qrels, JSONL question sets, and where an evaluation keeps its own index (in the cache, keyed
by the corpus' content hash, so a second run does not re-embed)."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import replace
from pathlib import Path

from ..config import Config
from ..ingest.read import normalize
from ..types import Document


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


def cached_config(config: Config, corpus: Path) -> Config:
    """The evaluation index lives in the cache, keyed by the corpus' content hash."""
    key = hashlib.sha256(corpus.read_bytes()).hexdigest()[:16]
    name = f"{corpus.parent.name}-{key}"
    # a Milvus server keeps it in collections of its own, beside the product's
    return replace(config, index_dir=config.cache_dir / "eval" / name,
                   milvus_collection="rag_eval_" + re.sub(r"\W", "_", name))
