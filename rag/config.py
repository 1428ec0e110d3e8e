"""Settings of the product, in one frozen dataclass with commented defaults, and the one
place that reads the `RAG_*` environment variables (`Config.from_env`).

`Config(**overrides)` rejects unknown keys (a typo is an error, not a silent default). A
variable with a value that cannot work raises `ConfigError` naming the variable and what it
accepts. Paths default to folders inside the repository, so nothing is written elsewhere.
Users need no variable at all; `ENV` lists them all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from .errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent  # the repository (or the install prefix)
STORES = ("faiss", "milvus")


@dataclass(frozen=True)
class Config:
    # where the corpus is read from and where the built index and caches live
    docs_dir: Path = ROOT / "seeds"
    uploads_dir: Path = ROOT / "data" / "uploads"  # the user's own documents (rag/ingest/library.py)
    index_dir: Path = ROOT / "index"
    cache_dir: Path = ROOT / ".cache"  # tiktoken BPE file, converted generator weights

    # where the index is kept: "faiss" (FAISS + bm25s files under index_dir, in memory when
    # loaded) or "milvus" (rag/storage/milvus_index.py): Milvus Lite at milvus_uri when it is a path (default
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
    evidence_passages: int = 8  # passages whose sentences compete to be the evidence (rag/answering/evidence.py):
    # more than top_k, so that a question about two documents finds both
    embed_batch: int = 32  # sentences per encoder call while indexing

    # abstention (rag/answering/abstain.py): the refusal model's chance that the evidence answers, below
    # which we refuse; None = the threshold `make fit` chose on fitting data (rag/answering/fitted/)
    min_confidence: float | None = None

    # generation
    max_new_tokens: int = 96  # answers are two or three sentences
    max_batch: int = 8  # answers written together, one forward pass for all (rag/models/batching.py); more wait.
    # RAG_MAX_BATCH sets it. 8: see `python -m bench --only load` for 1, 2, 4 and 8 users
    copy_bias: float = 0.0  # logit bonus for continuing the passage's own words (rag/models/generate.py)
    draft_tokens: int = 8  # prompt-lookup guesses checked per forward pass; 0 = one token per pass
    max_question_chars: int = 2000  # longer questions are truncated with a notice
    threads: int = 0  # torch threads; 0 lets torch decide (one per core)
    # bfloat16 for the encoder and the generator: None = where the CPU computes it natively
    # (rag/models/hardware.py), where it runs about twice as fast as fp32 (docs/speed.md)
    embed_bf16: bool | None = None
    generate_bf16: bool | None = None

    # serving (ui/): the chat and the /v1 API in one process
    host: str = "127.0.0.1"  # loopback only; any other address needs api_key (ui/server.py)
    port: int = 7860
    api_key: str = ""  # when set, every request needs it (Bearer token, or the page's session cookie)
    max_streams: int = 8  # API answers in progress at once; more get a 429
    api_timeout: float = 120.0  # seconds an API answer may take, waiting included
    io_timeout: float = 30.0  # seconds a client may stall sending its request or reading the reply
    queue_size: int = 32  # chat requests waiting beyond it get Gradio's "queue is full"

    def __post_init__(self) -> None:
        if self.store not in STORES:
            raise ConfigError(f"unknown store {self.store!r}: use one of {', '.join(STORES)} (RAG_STORE)")

    def with_(self, **changes) -> Config:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Config:
        """The defaults, with every `RAG_*` variable of `ENV` that is set (not empty) on top."""
        environ = os.environ if environ is None else environ
        changes = {}
        for var, (key, parse, accepts) in ENV.items():
            raw = environ.get(var, "").strip()
            if raw:
                try:
                    changes[key] = parse(raw)
                except ValueError:
                    raise ConfigError(f"{var}={raw!r} cannot work: it takes {accepts}") from None
        return cls(**changes)


def _positive(kind: Callable) -> Callable[[str], float]:
    def parse(raw: str):
        value = kind(raw)
        if not value > 0:
            raise ValueError(raw)
        return value

    return parse


def _flag(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError(raw)
    return raw == "1"


def _port(raw: str) -> int:
    value = int(raw)
    if not 0 < value < 65536:
        raise ValueError(raw)
    return value


def _store(raw: str) -> str:
    if raw not in STORES:
        raise ValueError(raw)
    return raw


# variable -> (Config field, parser, what it accepts: said when a value cannot be parsed)
ENV: dict[str, tuple[str, Callable[[str], object], str]] = {
    "RAG_DOCS_DIR": ("docs_dir", Path, "a folder"),  # the folders: tests and side-by-side installs move them
    "RAG_UPLOADS_DIR": ("uploads_dir", Path, "a folder"),
    "RAG_INDEX_DIR": ("index_dir", Path, "a folder"),
    "RAG_STORE": ("store", _store, f"one of {', '.join(STORES)}"),
    "RAG_MILVUS_URI": ("milvus_uri", str, "a path (Milvus Lite) or http(s)://host:port"),
    "RAG_MILVUS_TOKEN": ("milvus_token", str, "user:password or an API key"),
    "RAG_MAX_BATCH": ("max_batch", _positive(int), "a whole number of answers, at least 1"),
    "RAG_EMBED_BF16": ("embed_bf16", _flag, "0 (fp32) or 1 (bf16)"),
    "RAG_GENERATE_BF16": ("generate_bf16", _flag, "0 (fp32) or 1 (bf16)"),
    "RAG_HOST": ("host", str, "a host name or IP address"),
    "RAG_PORT": ("port", _port, "a port number, 1 to 65535"),
    "RAG_API_KEY": ("api_key", str, "a secret of at least 16 characters"),
    "RAG_MAX_STREAMS": ("max_streams", _positive(int), "a whole number of answers, at least 1"),
    "RAG_API_TIMEOUT": ("api_timeout", _positive(float), "seconds, more than 0"),
    "RAG_IO_TIMEOUT": ("io_timeout", _positive(float), "seconds, more than 0"),
    "RAG_QUEUE_SIZE": ("queue_size", _positive(int), "a whole number of requests, at least 1"),
}
