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
    pages: tuple[int, ...] = ()  # a PDF's page starts: offsets in `text` of pages 1, 2, ...; () for other formats


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
    score: float  # fused retrieval score, the ranking key (rag/storage/retrieve.py): higher is better
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
    supported: bool = True  # the check found the sentence(s) citing it in this passage; False for
    # the closest passages shown beside a refusal, which did not hold the answer
    spans: tuple[tuple[int, int], ...] = ()  # offsets in `quote` of the sentences that support the answer
    page: int | None = None  # the PDF page (1-based) of the cited sentence; None for other formats


@dataclass(frozen=True)
class Retrieved:
    """What `stream` yields first, before generating: the passages found and how sure we are."""

    passages: list[Hit]
    confidence: float  # calibrated chance that they hold the answer (rag/answering/abstain.py)
    answering: bool  # False: the answer will be a refusal
    evidence: tuple[str, ...] = ()  # the sentences chosen to answer from (rag/answering/evidence.py)


@dataclass(frozen=True)
class Verified:
    """A piece of the answer's text that has passed the check, yielded by `stream` as soon as it
    has (a sentence of the answer with its [n], or a refusal): the `Answer`'s text is these pieces
    joined, in order. The generator's unchecked draft comes as plain `str` pieces instead."""

    text: str


@dataclass(frozen=True)
class Progress:
    """How far an index build is (or, first, the reading of a scanned file): what a progress bar shows."""

    chunks_done: int  # chunks embedded so far by this build
    chunks_total: int  # chunks this build embeds (unchanged documents reuse their vectors)
    documents_done: int  # documents whose chunks are all embedded (or reused)
    documents_total: int
    reading: str = ""  # while a file's scanned pages are recognised (OCR), before any embedding: its name
    pages_done: int = 0  # of its scanned pages, recognised so far
    pages_total: int = 0


@dataclass(frozen=True)
class Removed:
    sentence: str  # a generated sentence left out of the answer
    reason: str  # why, in plain words: "states 1978, which no passage contains"


@dataclass(frozen=True)
class Statement:
    text: str  # one sentence of the answer, without its marker
    n: int  # the citation it carries, [n]
    quoted: bool  # True: a sentence copied verbatim from the passage; False: the short answer it states
    # ("Yes.", "50 states.", rag/answering/compose.py) or a sentence the generator wrote (and the check kept)


@dataclass(frozen=True)
class Answer:
    text: str
    citations: list[Citation]
    abstained: bool
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    passages: list[Hit] = field(default_factory=list)  # everything retrieved, cited or not
    dropped: list[Removed] = field(default_factory=list)  # generated sentences the check removed
    confidence: float = 0.0  # calibrated chance that the passages hold the answer (rag/answering/abstain.py)
    statements: list[Statement] = field(default_factory=list)  # the answer's sentences: quoted or generated
