"""The one place that wires the stages together: question -> Answer.

ingest -> chunk -> embed -> index (rag/index.py, once per process) -> retrieve ->
choose the evidence (rag/evidence.py) -> decide to answer (rag/abstain.py) -> generate from
the evidence (rag/generate.py) -> check, or quote the evidence (rag/cite.py).
A `Pipeline` owns its models and index and reuses them across calls; pass fakes for
`embedder` and `generator` to test without models.
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import abstain, cite, evidence, lexical, library, retrieve
from .chunk import sentence_spans
from .config import Config
from .embed import Embedder, MiniLM
from .errors import QuestionError
from .generate import Generator, SmolLM
from .index import Store, Workers, ensure
from .text import terms
from .types import Answer, Citation, Document, Hit, Progress, Retrieved

SYSTEM = ("Answer the question using only the numbered passages. Write two or three short "
          "sentences. After each sentence, cite the passage it comes from, like [1].")
MAX_SENTENCES = 3
VECTOR_CACHE = 50_000  # sentence embeddings kept between questions (~75 MB at 384 floats)
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


def render(selected: list[tuple[int, str]]) -> str:
    """One paragraph per passage, "[n] sentence sentence", in order of first appearance.
    (One line per sentence made the model echo the list back, line by line.)"""
    groups: dict[int, list[str]] = {}
    for n, sentence in selected:
        groups.setdefault(n, []).append(sentence)
    return "\n\n".join(f"[{n}] " + " ".join(sentences) for n, sentences in groups.items())


def prompt(question: str, selected: list[tuple[int, str]]) -> list[dict]:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"{render(selected)}\n\nQuestion: {question}"}]


def _enough(text: str) -> bool:
    """Stop decoding after MAX_SENTENCES finished sentences or lines, or at the first repeat."""
    finished = [text[s:e] for s, e in sentence_spans(text)[:-1]]
    kept = cite.sentences("\n".join(finished))
    said = [f for f in finished if cite.sentences(f)]  # "The answer is:" alone says nothing yet
    return len(kept) >= MAX_SENTENCES or len(kept) < len(said)


@dataclass(frozen=True)
class Found:
    index: Store  # the index searched: its rows are the hits' rows, whatever is re-indexed meanwhile
    hits: list[Hit]  # every passage searched for evidence, best first
    selection: evidence.Selection  # the evidence chosen among their sentences
    assessment: abstain.Assessment  # whether it answers the question

    @property
    def sources(self) -> list[Hit]:
        """The passages the evidence comes from, in the evidence's order: what the generator reads."""
        return [self.hits[p - 1] for p in self._passages]

    @property
    def numbered(self) -> list[tuple[int, evidence.Sentence]]:
        """Each evidence sentence with the number of its passage among `sources`, its [n]."""
        return [(self._passages.index(s.passage) + 1, s) for s in self.selection.sentences]

    @property
    def _passages(self) -> list[int]:
        return list(dict.fromkeys(s.passage for s in self.selection.sentences))


def closest(hits: list[Hit]) -> list[Citation]:
    """The passages shown beside a refusal: cited, but marked as not holding the answer."""
    return [cite.cited(h, n, supported=False) for n, h in enumerate(hits, 1)]


class Pipeline:
    def __init__(self, config: Config | None = None, embedder: Embedder | None = None,
                 generator: Generator | None = None, log=print, documents: list[Document] | None = None) -> None:
        self.config = config or Config()
        self.documents = documents  # answer from these instead of reading config.docs_dir
        self.embedder = embedder or MiniLM()
        self.generator = generator or SmolLM(self.config.cache_dir, self.config.threads, self.config.copy_bias,
                                             self.config.draft_tokens, self.config.max_batch)
        self.log = log
        self._index: Store | None = None
        self._lock = threading.Lock()
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()  # sentence -> embedding, least recent first
        self._vectors_lock = threading.Lock()

    @property
    def index(self) -> Store:
        """The index of the documents folder, built or updated on first use."""
        return self.load_index()

    def load_index(self, progress: Callable[[Progress], None] | None = None, workers: Workers | None = None) -> Store:
        """The index, built or brought up to date first if needed; `progress` hears how far
        a build is, `workers` read, chunk and embed for it (rag/index.py; default: here)."""
        with self._lock:
            if self._index is None:
                if self.documents is not None:
                    docs, skipped = self.documents, []
                else:
                    docs, skipped = library.documents(self.config, workers.read if workers else None)
                for s in skipped:
                    self.log(f"skipped {s.path}: {s.reason}")
                self._index = ensure(docs, self.embedder, self.config, log=self.log, progress=progress,
                                     workers=workers)
            return self._index

    def add(self, paths: list, names: list[str] | None = None,
            progress: Callable[[Progress], None] | None = None,
            workers: Workers | None = None) -> tuple[list[Document], list]:
        """Add files to the user's documents (rag/library.py) and index them now; returns
        (added, skipped-with-reasons)."""
        added, skipped = library.add(paths, self.config, names)
        if added:
            self.reindex(progress, workers)
        return added, skipped

    def remove(self, doc_id: str) -> bool:
        """Remove one of the user's documents from the folder and the index."""
        removed = library.remove(doc_id, self.config)
        if removed:
            self.reindex()
        return removed

    def reindex(self, progress: Callable[[Progress], None] | None = None, workers: Workers | None = None) -> Store:
        """Read the documents again and bring the index up to date (only new content is embedded)."""
        with self._lock:
            self._index = None
        return self.load_index(progress, workers)

    def catalogue(self) -> list[tuple[str, str, int, bool]]:
        """(doc_id, title, chunks, uploaded) for every indexed document, seeds first."""
        index = self.index
        uploads = self.config.uploads_dir.resolve()
        return [(doc_id, d["title"], d["chunks"], Path(d.get("path", "")).resolve().parent == uploads)
                for doc_id, d in index.manifest["documents"].items() if d["chunks"]]

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the generator's vocabulary (a word count for a generator without one)."""
        self.generator.load()
        count = getattr(self.generator, "count_tokens", None)
        return count(text) if count else len(text.split())

    def warm(self) -> None:
        """Load the index and both models now rather than on the first question."""
        _ = self.index
        self.embedder.load()
        self.generator.load()

    def retrieve(self, question: str, history=None) -> list[Hit]:
        query = search_query(question, history)
        return retrieve.search(self.index, self.embedder.encode([query])[0], query, self.config.top_k)

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings of `texts`, from the cache where a sentence was seen before."""
        with self._vectors_lock:
            missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        new = self.embedder.encode(missing) if missing else []
        with self._vectors_lock:
            for t, v in zip(missing, new, strict=True):
                self._vectors[t] = v
            for t in texts:
                self._vectors.move_to_end(t)
            out = np.array([self._vectors[t] for t in texts], np.float32)
            while len(self._vectors) > VECTOR_CACHE:
                self._vectors.popitem(last=False)
        return out.reshape(len(texts), -1)

    def evidence(self, question: str, history=None) -> Found:
        """Retrieve for `question`, choose the evidence and weigh it (rag/evidence.py, rag/abstain.py)."""
        index = self.index
        query = search_query(question, history)
        embedded: list[np.ndarray] = []

        def embed() -> np.ndarray:  # called by the store, which may start its text search first
            embedded.append(self.embedder.encode([query])[0])
            return embedded[0]

        hits = retrieve.search(index, embed, query, self.config.evidence_passages)
        query_vec = embedded[0] if embedded else embed()
        cands = evidence.candidates(hits)
        # a follow-up searches with the previous question, but its evidence answers the question itself
        question_vec = query_vec if query == question else self.embedder.encode([question])[0]
        cos = self.encode([c.text for c in cands]) @ question_vec if cands else np.zeros(0, np.float32)
        selection = evidence.select(question, cands, cos, index.idf(lexical.stems([question])[0]))
        return Found(index, hits, selection, abstain.assess(question, hits, selection, self.config))

    def stream(self, question: str, history=None) -> Iterator[Retrieved | str | Answer]:
        """Yield what was `Retrieved` (before generating), the model's text as it is
        generated, then the checked `Answer`: the generated sentences the citation check
        accepted when they carry the evidence, else the evidence quoted verbatim, or a refusal."""
        t0 = time.perf_counter()
        question, truncated = clean_question(question, self.config.max_question_chars)
        self.warm()
        t1 = time.perf_counter()
        found = self.evidence(question, history)
        judged = found.assessment
        sources = found.sources
        shown = list(dict.fromkeys(found.hits[: self.config.top_k] + sources))
        timings = {"load": t1 - t0, "retrieve": time.perf_counter() - t1}
        notice = "(Your question was shortened to fit the model.) " if truncated else ""
        yield Retrieved(shown, judged.confidence, judged.answerable, tuple(s.text for s in found.selection.sentences))
        if not judged.answerable:
            text = notice + abstain.refusal(judged)
            yield text
            yield Answer(text, closest(found.hits[: self.config.top_k]), True,
                         {**timings, "total": time.perf_counter() - t0}, shown, confidence=judged.confidence)
            return
        chosen = found.numbered
        t2 = time.perf_counter()
        raw = ""
        for piece in self.generator.stream(prompt(question, [(n, s.text) for n, s in chosen]),
                                           self.config.max_new_tokens, stop=_enough):
            raw += piece
            yield piece
        t3 = time.perf_counter()
        parts = cite.sentences(raw)
        sentence_vecs = self.encode(parts) if parts else np.zeros((0, 1), np.float32)
        passage_vecs = found.index.vectors_of([h.row for h in sources])
        checked = cite.attach(parts, sources, sentence_vecs, passage_vecs, question)
        checked = cite.settle(checked, chosen, sources, question)
        timings.update(generate=t3 - t2, cite=time.perf_counter() - t3)
        timings["total"] = time.perf_counter() - t0
        yield Answer(notice + checked.text, checked.citations, False, timings, shown, checked.dropped,
                     judged.confidence, checked.statements)

    def answer(self, question: str, history=None) -> Answer:
        *_, final = self.stream(question, history)
        return final
