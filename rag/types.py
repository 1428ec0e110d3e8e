"""Plain frozen records passed between the pipeline stages.

ingest -> Document -> chunk -> Chunk -> index/retrieve -> Hit -> generate/cite -> Answer.
They carry data only: no behaviour, no references to models.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Document:
    id: str  # file stem, stable across runs: "001_931c122cd22fbef4"
    title: str  # first meaningful line, web boilerplate skipped
    text: str  # whitespace-normalised text; chunk offsets index into it
    path: str  # where it was read from
    sha256: str  # hash of `text`, recorded in the index manifest


@dataclass(frozen=True)
class Chunk:
    doc_id: str
    start: int  # character offsets in Document.text: text == doc.text[start:end]
    end: int
    text: str


@dataclass(frozen=True)
class Hit:
    chunk: Chunk
    title: str
    score: float  # fused retrieval score, the ranking key (rag/retrieve.py): higher is better
    row: int  # the chunk's row in the index, to fetch its vector again
    similarity: float  # cosine similarity of the question and the chunk (MiniLM)


@dataclass(frozen=True)
class Citation:
    n: int  # the marker number, [n] in Answer.text
    doc_id: str
    title: str
    quote: str  # the cited passage text
    start: int  # offsets of the quote in the document text
    end: int
    score: float  # fused retrieval score of the passage (standardised: higher is better)


@dataclass(frozen=True)
class Answer:
    text: str
    citations: list[Citation]
    abstained: bool
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    passages: list[Hit] = field(default_factory=list)  # everything retrieved, cited or not
    dropped: list[str] = field(default_factory=list)  # generated sentences no passage supports
