"""Settings of the pipeline, in one frozen dataclass with commented defaults.

`Config(**overrides)` rejects unknown keys (a typo is an error, not a silent default).
Paths default to folders inside the repository, so nothing is written elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent  # the repository (or the install prefix)
STORES = ("faiss", "milvus")


@dataclass(frozen=True)
class Config:
    # where the corpus is read from and where the built index and caches live
    docs_dir: Path = ROOT / "seeds"
    uploads_dir: Path = ROOT / "data" / "uploads"  # the user's own documents (rag/library.py)
    index_dir: Path = ROOT / "index"
    cache_dir: Path = ROOT / ".cache"  # tiktoken BPE file, converted generator weights

    # where the index is kept: "faiss" (FAISS + bm25s files under index_dir, in memory when
    # loaded) or "milvus" (rag/milvus.py): Milvus Lite at milvus_uri when it is a path (default
    # index_dir/milvus.db), a Milvus server or cluster when it is http(s)://host:port
    store: str = "faiss"
    milvus_uri: str = ""
    milvus_token: str = ""  # "user:password" or an API key, for a server with authentication
    milvus_collection: str = "rag"  # collections <name>_chunks and <name>_documents

    # chunking, in cl100k_base tokens. 160 keeps a chunk well inside MiniLM's 256
    # word-piece window (about 1.2 word pieces per tiktoken token on English prose) and
    # short enough that a citation points at one idea; 32 tokens of overlap (a sentence
    # or so) keeps a fact that straddles a boundary whole in at least one chunk.
    chunk_tokens: int = 160
    chunk_overlap: int = 32

    # retrieval
    top_k: int = 4  # passages retrieved and offered as sources
    evidence_passages: int = 8  # passages whose sentences compete to be the evidence (rag/evidence.py):
    # more than top_k, so that a question about two documents finds both
    embed_batch: int = 32  # sentences per encoder call while indexing

    # abstention: see rag/abstain.py for how these were calibrated
    # calibrated chance that the evidence answers, below which we refuse: just above the off-topic
    # questions that no rule refuses (<= 0.137), inside the stretch 0.125-0.325 where the seed
    # development set meets its targets (rag/abstain.py; tools/calibrate_abstain.py fit)
    min_confidence: float = 0.175

    # generation
    max_new_tokens: int = 96  # answers are two or three sentences
    max_batch: int = 8  # answers written together, one forward pass for all (rag/batching.py); more wait.
    # RAG_MAX_BATCH sets it. 8: see `python -m bench --only load` for 1, 2, 4 and 8 users
    copy_bias: float = 0.0  # logit bonus for continuing the passage's own words (rag/generate.py)
    draft_tokens: int = 8  # prompt-lookup guesses checked per forward pass; 0 = one token per pass
    max_question_chars: int = 2000  # longer questions are truncated with a notice
    threads: int = 0  # torch threads; 0 lets torch decide (one per core)

    def __post_init__(self) -> None:
        if self.store not in STORES:
            from .errors import ConfigError

            raise ConfigError(f"unknown store {self.store!r}: use one of {', '.join(STORES)} (RAG_STORE)")

    def with_(self, **changes) -> Config:
        return replace(self, **changes)

    @classmethod
    def from_env(cls) -> Config:
        """The defaults, with folders moved by RAG_DOCS_DIR, RAG_UPLOADS_DIR, RAG_INDEX_DIR
        when set (tests and side-by-side installs use them; users need none), the batch
        cap by RAG_MAX_BATCH, the store by RAG_STORE, RAG_MILVUS_URI and RAG_MILVUS_TOKEN."""
        env = {"docs_dir": "RAG_DOCS_DIR", "uploads_dir": "RAG_UPLOADS_DIR", "index_dir": "RAG_INDEX_DIR"}
        changes: dict = {k: Path(os.environ[v]) for k, v in env.items() if os.environ.get(v)}
        if os.environ.get("RAG_MAX_BATCH"):
            changes["max_batch"] = max(1, int(os.environ["RAG_MAX_BATCH"]))
        store = {"store": "RAG_STORE", "milvus_uri": "RAG_MILVUS_URI", "milvus_token": "RAG_MILVUS_TOKEN"}
        for key, var in store.items():
            if os.environ.get(var):
                changes[key] = os.environ[var].strip()
        return cls(**changes)
