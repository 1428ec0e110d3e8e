"""Local retrieval-augmented Q&A over a folder of documents, with checked citations.

    >>> from rag import answer
    >>> a = answer("What is SoULS?")
    >>> a.text, [c.doc_id for c in a.citations]

Importing `rag` loads no model and no torch; the first call builds what it needs
(index, models) once per process and reuses it. `Config.from_env()` is the settings it
runs with (every `RAG_*` variable is read there); a bad value raises `ConfigError`.

The package, room by room (each room imports only the rooms above it in this list):

    config.py, errors.py, types.py, text.py   shared: settings, exceptions, records, text
    models/       the embedder, the generator, batching, the model thread
    ingest/       files -> Documents -> Chunks; the user's documents
    storage/      the index: FAISS or Milvus, BM25, builds, Ray workers, hybrid search
    answering/    the question read once, evidence, refusal, prompt, check, quote
    pipeline.py   the one place that wires them: question -> Answer
    evaluation/   the product measured on benchmarks
    mcp.py        the documents as MCP tools (stdio here, HTTP at /mcp of ui/server.py)
    cli.py        `python -m rag index|ask|mcp|eval`
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

from .config import Config
from .errors import BadIndexError, ConfigError, IndexWriteError, ModelError, QuestionError, RagError
from .types import Answer, Citation, Progress, Retrieved, Statement, Verified

__all__ = ["answer", "stream_answer", "add_documents", "remove_document", "documents", "count_tokens", "mcp_server",
           "document_file",
           "Answer", "Citation", "Statement", "Retrieved", "Verified", "Progress", "Config", "RagError",
           "QuestionError", "ConfigError", "BadIndexError", "IndexWriteError", "ModelError"]

_pipeline = None
_lock = threading.Lock()


def _default():
    global _pipeline
    with _lock:
        if _pipeline is None:
            from .pipeline import Pipeline

            _pipeline = Pipeline(Config.from_env())
        return _pipeline


def answer(question: str, history: list[tuple[str, str]] | None = None) -> Answer:
    """Answer `question` from the documents; `history` is the chat so far as
    (question, answer) pairs, used to read follow-ups."""
    return _default().answer(question, history)


def stream_answer(question: str,
                  history: list[tuple[str, str]] | None = None) -> Iterator[Retrieved | str | Verified | Answer]:
    """Like `answer`, but yields first the passages `Retrieved`; then, as they come, the
    generator's unchecked draft (`str` pieces, when it writes one) and the checked text
    (`Verified` pieces, each as soon as it passed the check: only these are the answer);
    and ends with the `Answer`, whose text is the `Verified` pieces joined."""
    return _default().stream(question, history)


def add_documents(paths: list, names: list[str] | None = None, progress=None):
    """Add files (.txt, .md, .html, .pdf, .docx) to your documents and index them; returns
    (added Documents, skipped files with the reason). `names`: the files' own names when
    `paths` are temporary copies (uploads); `progress`: called with a `Progress` as the
    new text is embedded."""
    return _default().add(paths, names, progress)


def remove_document(doc_id: str) -> bool:
    """Remove one of your added documents (seeds stay); False if there is none by that id."""
    return _default().remove(doc_id)


def documents() -> list[tuple[str, str, int, bool]]:
    """(doc_id, title, chunk count, added by you) for every indexed document."""
    return _default().catalogue()


def document_file(doc_id: str):
    """The file (a `Path`) that document `doc_id` is read from, in the seeds or your uploads;
    None when there is none."""
    from .ingest.library import file_of

    return file_of(doc_id, _default().config)


def mcp_server():
    """The MCP server (rag/mcp.py) whose tools answer from this process's pipeline: what
    ui/server.py serves at /mcp."""
    from .mcp import server

    return server(_default)


def count_tokens(text: str) -> int:
    """How many tokens `text` is for the generator (what an API's `usage` counts)."""
    return _default().count_tokens(text)
