"""The one place that wires the stages together: question -> Answer.

ingest -> chunk -> embed -> index (rag/index.py, once per process) -> retrieve ->
assess evidence (rag/abstain.py) -> generate (rag/generate.py) -> cite (rag/cite.py).
A `Pipeline` owns its models and index and reuses them across calls; pass fakes for
`embedder` and `generator` to test without models.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import abstain, cite, context, library, retrieve
from .chunk import sentence_spans
from .config import Config
from .embed import Embedder, MiniLM
from .errors import QuestionError
from .generate import Generator, SmolLM
from .index import Index, ensure
from .text import terms
from .types import Answer, Citation, Document, Hit, Retrieved

SYSTEM = ("Answer the question using only the numbered passages. Write two or three short "
          "sentences. After each sentence, cite the passage it comes from, like [1].")
MAX_SENTENCES = 3
_FOLLOW_UP = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|she|his|her)\b", re.I)


def clean_question(question: str, limit: int) -> tuple[str, bool]:
    """The question with control characters removed and at most `limit` characters;
    raises QuestionError when nothing is left. Returns (question, truncated)."""
    if not isinstance(question, str):
        raise QuestionError(f"the question must be text, not {type(question).__name__}")
    q = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", question)
    q = re.sub(r"\s+", " ", q).strip()
    if not q:
        raise QuestionError("the question is empty: type a question about the documents")
    return (q[:limit].rsplit(" ", 1)[0] or q[:limit], True) if len(q) > limit else (q, False)


def search_query(question: str, history: list[tuple[str, str]] | None) -> str:
    """A standalone query: a follow-up that points back ("its", "they") or names nothing
    ("Why?") carries the previous question with it."""
    if history and (_FOLLOW_UP.search(question) or not terms(question)):
        return f"{history[-1][0]} {question}"
    return question


def prompt(question: str, selected: list[tuple[int, str]]) -> list[dict]:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"{context.render(selected)}\n\nQuestion: {question}"}]


def _enough(text: str) -> bool:
    """Stop decoding after MAX_SENTENCES finished sentences or lines, or at the first repeat."""
    finished = [text[s:e] for s, e in sentence_spans(text)[:-1]]
    kept = cite.sentences("\n".join(finished))
    said = [f for f in finished if cite.sentences(f)]  # "The answer is:" alone says nothing yet
    return len(kept) >= MAX_SENTENCES or len(kept) < len(said)


@dataclass(frozen=True)
class _Evidence:
    evidence: abstain.Evidence
    hits: list[Hit]
    sentences: list[tuple[int, str]]  # candidate sentences of the hits (rag/context.py)
    sentence_vecs: np.ndarray
    question_vec: np.ndarray


def closest(hits: list[Hit]) -> list[Citation]:
    """The passages shown beside a refusal: cited, but marked as not holding the answer."""
    return [cite.cited(h, n, supported=False) for n, h in enumerate(hits, 1)]


class Pipeline:
    def __init__(self, config: Config | None = None, embedder: Embedder | None = None,
                 generator: Generator | None = None, log=print, documents: list[Document] | None = None) -> None:
        self.config = config or Config()
        self.documents = documents  # answer from these instead of reading config.docs_dir
        self.embedder = embedder or MiniLM()
        self.generator = generator or SmolLM(self.config.cache_dir, self.config.threads,
                                                       self.config.copy_bias, self.config.draft_tokens)
        self.log = log
        self._index: Index | None = None
        self._lock = threading.Lock()

    @property
    def index(self) -> Index:
        """The index of the documents folder, built or updated on first use."""
        with self._lock:
            if self._index is None:
                if self.documents is not None:
                    docs, skipped = self.documents, []
                else:
                    docs, skipped = library.documents(self.config)
                for s in skipped:
                    self.log(f"skipped {s.path}: {s.reason}")
                self._index = ensure(docs, self.embedder, self.config, log=self.log)
            return self._index

    def add(self, paths: list, names: list[str] | None = None) -> tuple[list[Document], list]:
        """Add files to the user's documents (rag/library.py) and index them now; returns
        (added, skipped-with-reasons)."""
        added, skipped = library.add(paths, self.config, names)
        if added:
            self.reindex()
        return added, skipped

    def remove(self, doc_id: str) -> bool:
        """Remove one of the user's documents from the folder and the index."""
        removed = library.remove(doc_id, self.config)
        if removed:
            self.reindex()
        return removed

    def reindex(self) -> Index:
        """Read the documents again and bring the index up to date (only new content is embedded)."""
        with self._lock:
            self._index = None
        return self.index

    def catalogue(self) -> list[tuple[str, str, int, bool]]:
        """(doc_id, title, chunks, uploaded) for every indexed document, seeds first."""
        index = self.index
        counts: dict[str, int] = {}
        for c in index.chunks:
            counts[c.doc_id] = counts.get(c.doc_id, 0) + 1
        uploads = self.config.uploads_dir.resolve()
        return [(doc_id, index.titles.get(doc_id, doc_id), n,
                 Path(index.manifest["documents"][doc_id].get("path", "")).resolve().parent == uploads)
                for doc_id, n in counts.items()]

    def warm(self) -> None:
        """Load the index and both models now rather than on the first question."""
        _ = self.index
        self.embedder.load()
        self.generator.load()

    def retrieve(self, question: str, history=None) -> list[Hit]:
        query = search_query(question, history)
        return retrieve.search(self.index, self.embedder.encode([query])[0], query, self.config.top_k)

    def evidence(self, question: str, history=None) -> _Evidence:
        """Retrieve for `question` and weigh what was found (rag/abstain.py)."""
        query = search_query(question, history)
        extra = [] if query == question else [question]  # a follow-up: select for the question itself
        query_vec = self.embedder.encode([query])[0]
        hits = retrieve.search(self.index, query_vec, query, self.config.top_k)
        cands = context.candidates(hits)
        vecs = self.embedder.encode([s for _, s in cands] + extra)
        sentence_vecs, question_vec = vecs[: len(cands)], (vecs[-1] if extra else query_vec)
        assessed = abstain.assess(query, hits, self.config, cands, sentence_vecs @ query_vec)
        return _Evidence(assessed, hits, cands, sentence_vecs, question_vec)

    def stream(self, question: str, history=None) -> Iterator[Retrieved | str | Answer]:
        """Yield what was `Retrieved` (before generating), the model's text as it is
        generated, then the checked `Answer` (whose text keeps only the sentences the
        citation check accepted, or is a refusal)."""
        t0 = time.perf_counter()
        question, truncated = clean_question(question, self.config.max_question_chars)
        self.warm()
        index = self.index
        t1 = time.perf_counter()
        found = self.evidence(question, history)
        hits = found.hits
        timings = {"load": t1 - t0, "retrieve": time.perf_counter() - t1}
        notice = "(Your question was shortened to fit the model.) " if truncated else ""
        yield Retrieved(hits, found.evidence.confidence, found.evidence.answerable)
        if not found.evidence.answerable:
            text = notice + abstain.refusal(found.evidence)
            yield text
            yield Answer(text, closest(hits), True, {**timings, "total": time.perf_counter() - t0}, hits,
                         confidence=found.evidence.confidence)
            return
        t2 = time.perf_counter()
        selected = context.select(question, found.sentences, found.sentence_vecs, found.question_vec,
                                  self.config.context_sentences)
        timings["select"] = time.perf_counter() - t2
        t2 = time.perf_counter()
        raw = ""
        for piece in self.generator.stream(prompt(question, selected), self.config.max_new_tokens,
                                           stop=_enough):
            raw += piece
            yield piece
        t3 = time.perf_counter()
        parts = cite.sentences(raw)
        sentence_vecs = self.embedder.encode(parts)
        passage_vecs = index.vectors.reconstruct_batch([h.row for h in hits])
        checked = cite.attach(parts, hits, sentence_vecs, passage_vecs, question)
        timings.update(generate=t3 - t2, cite=time.perf_counter() - t3)
        timings["total"] = time.perf_counter() - t0
        if not checked.citations:
            text = notice + abstain.refusal(None)  # nothing generated survived the check
            yield Answer(text, closest(hits), True, timings, hits, checked.dropped, found.evidence.confidence)
            return
        yield Answer(notice + checked.text, checked.citations, False, timings, hits, checked.dropped,
                     found.evidence.confidence)

    def answer(self, question: str, history=None) -> Answer:
        *_, final = self.stream(question, history)
        return final
