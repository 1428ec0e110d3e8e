"""The one place that wires the stages together: question -> Answer.

read the question once (rag/answering/question.py) -> retrieve (rag/storage/, over the store opened
once per process) -> choose the evidence (answering/evidence.py) -> decide to answer (abstain.py) ->
generate from it (rag/models/generate.py) and check each sentence as written (answering/live.py), or quote it.
A `Pipeline` owns its models and index and reuses them; fakes for `embedder` and `generator` test it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace

import numpy as np

from .answering import abstain, check, claims, compose, evidence, live, prompt, question, quote, spelling, summary
from .config import Config
from .ingest import library
from .ingest.chunk import chunk_document
from .ingest.pdf import page_at
from .models.embed import Embedder, MiniLM
from .models.entities import SpacyTagger, Span, Tagger
from .models.generate import Generator, SmolLM
from .models.parse import SpacyParser
from .storage import Store, Workers, ensure, retrieve
from .text import stems
from .types import Answer, Document, Hit, Progress, Retrieved, Verified

VECTOR_CACHE = 50_000  # sentence embeddings kept between questions (~75 MB at 384 floats)
TAG_CACHE = 20_000  # passages whose entity tags are kept: each passage is tagged once
Piece = Retrieved | str | Verified | Answer  # what `stream` yields


@dataclass(frozen=True)
class Gathered:
    index: Store  # the index searched
    hits: list[Hit]  # every passage searched for evidence, best first
    cands: list[evidence.Candidate]  # their sentences
    cos: np.ndarray  # each sentence's cosine with the question
    idf: dict[str, float]  # the question's words' IDF in the index
    tags: list[tuple[Span, ...]]  # each passage's entity spans


@dataclass(frozen=True)
class Found:
    index: Store  # the index searched: its rows are the hits' rows, whatever is re-indexed meanwhile
    hits: list[Hit]  # every passage searched for evidence, best first
    selection: evidence.Selection  # the evidence chosen among their sentences
    assessment: abstain.Assessment  # whether it answers the question
    tags: list[tuple[Span, ...]] = ()  # each hit's entity spans

    @property
    def sources(self) -> list[Hit]:
        """The passages the evidence comes from, in the evidence's order: what the generator reads."""
        return [self.hits[p - 1] for p in self._passages]

    @property
    def source_tags(self) -> list[tuple[Span, ...]]:
        """The entity spans of each of `sources`."""
        return [self.tags[p - 1] for p in self._passages]

    @property
    def numbered(self) -> list[tuple[int, evidence.Sentence]]:
        """Each evidence sentence with the number of its passage among `sources`, its [n]."""
        return [(self._passages.index(s.passage) + 1, s) for s in self.selection.sentences]

    @property
    def _passages(self) -> list[int]:
        return list(dict.fromkeys(s.passage for s in self.selection.sentences))


class Pipeline:
    def __init__(self, config: Config | None = None, embedder: Embedder | None = None,
                 generator: Generator | None = None, log=print, documents: list[Document] | None = None,
                 tagger: Tagger | None = None) -> None:
        from cachetools import LRUCache

        self.config = config or Config()
        self.documents = documents  # answer from these instead of reading config.docs_dir
        self.embedder = embedder or MiniLM(self.config.embed_bf16)
        self.generator = generator or SmolLM(self.config.cache_dir, self.config.threads, self.config.copy_bias,
                                             self.config.draft_tokens, self.config.max_batch,
                                             self.config.generate_bf16)
        self.tagger = tagger or SpacyTagger()
        self.parser = SpacyParser()  # the claim check's parses (rag/models/parse.py)
        self.log = log
        self._index: Store | None = None
        self._vocabulary: spelling.Vocabulary | None = None  # the indexed documents' words
        self._documents: dict[str, Document] = {}  # the indexed documents, by id: what a summary is made of
        self._lock = threading.Lock()
        self._vectors: LRUCache = LRUCache(VECTOR_CACHE)  # sentence -> embedding
        self._vectors_lock = threading.Lock()
        self._tags: LRUCache = LRUCache(TAG_CACHE)  # passage text -> its entity spans

    @property
    def index(self) -> Store:
        """The index of the documents folder, built or updated on first use."""
        return self.load_index()

    def load_index(self, progress: Callable[[Progress], None] | None = None, workers: Workers | None = None) -> Store:
        """The index, built or brought up to date first if needed; `progress` hears how far
        a build is, `workers` read, chunk and embed for it (rag/storage/; default: here)."""
        with self._lock:
            if self._index is None:
                docs, skipped = (self.documents, []) if self.documents is not None else \
                    library.documents(self.config, workers.read if workers else None)
                for s in skipped:
                    self.log(f"skipped {s.path}: {s.reason}")
                self._index = ensure(docs, self.embedder, self.config, log=self.log, progress=progress,
                                     workers=workers)
                self._vocabulary = spelling.Vocabulary.of(d.text for d in docs)
                self._documents = {d.id: d for d in docs}
            return self._index

    @property
    def vocabulary(self) -> spelling.Vocabulary:
        """The indexed documents' words, which misspelled question words are read as."""
        self.load_index()
        return self._vocabulary

    def add(self, paths: list, names: list[str] | None = None, progress: Callable[[Progress], None] | None = None,
            workers: Workers | None = None) -> tuple[list[Document], list]:
        """Add files to the user's documents (rag/ingest/library.py) and index them now (`progress`
        hears of the OCR of scanned pages, then of the embedding); returns (added, skipped-with-reasons)."""
        added, skipped = library.add(paths, self.config, names, progress)
        if added:
            self.reindex(progress, workers)
        return added, skipped

    def remove(self, doc_id: str) -> bool:
        """Remove one of the user's documents from the folder and the index."""
        if removed := library.remove(doc_id, self.config):
            self.reindex()
        return removed

    def reindex(self, progress: Callable[[Progress], None] | None = None, workers: Workers | None = None) -> Store:
        """Read the documents again and bring the index up to date (only new content is embedded)."""
        with self._lock:
            self._index = None
        return self.load_index(progress, workers)

    def catalogue(self) -> list[tuple[str, str, int, bool]]:
        """(doc_id, title, chunks, uploaded) for every indexed document, seeds first."""
        return library.catalogue(self.index.manifest, self.config)

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` in the generator's vocabulary (a word count for a generator without one)."""
        self.generator.load()
        return self.generator.count_tokens(text) if hasattr(self.generator, "count_tokens") else len(text.split())

    def warm(self) -> None:
        """Load the index and both models now rather than on the first question."""
        _ = self.index
        self.embedder.load()
        self.generator.load()
        self.tagger.tag(["Warm."])

    def read(self, text: str, history=None) -> question.Question:
        """The question, its misspellings corrected (rag/answering/spelling.py), analysed once
        for every later stage."""
        question.clean(text, self.config.max_question_chars)  # a bad question fails before the index loads
        fixed, corrections = spelling.correct(text, self.vocabulary)
        return question.read(fixed, history, self.config.max_question_chars, corrections)

    def retrieve(self, text: str, history=None, k: int | None = None) -> list[Hit]:
        query = question.search_query(question.clean(text, self.config.max_question_chars)[0], history)
        return retrieve.search(self.index, self.embedder.encode([query])[0], query, k or self.config.top_k)

    def _cached(self, cache, texts: list[str], compute) -> list:
        """`compute` on the texts `cache` does not hold yet, kept there; values in the order of `texts`."""
        with self._vectors_lock:
            known = {t: cache[t] for t in dict.fromkeys(texts) if t in cache}
        missing = [t for t in dict.fromkeys(texts) if t not in known]
        known.update(zip(missing, compute(missing) if missing else [], strict=True))
        with self._vectors_lock:
            for t in missing:
                cache[t] = known[t]
        return [known[t] for t in texts]

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embeddings of `texts`, from the cache where a sentence was seen before."""
        return np.array(self._cached(self._vectors, texts, self.embedder.encode), np.float32).reshape(len(texts), -1)

    def tags(self, texts: list[str]) -> list[tuple[Span, ...]]:
        """The entity spans of each passage text, tagged once and then kept."""
        return self._cached(self._tags, texts, self.tagger.tag)

    def gather(self, q: question.Question) -> Gathered:
        """What the evidence is chosen from: the passages retrieved for `q`, their sentences,
        each sentence's cosine with the question, the question words' IDF and the passages' tags."""
        index = self.index
        embedded: list[np.ndarray] = []

        def embed() -> np.ndarray:  # called by the store, which may start its text search first
            embedded.append(self.embedder.encode([q.query])[0])
            return embedded[0]

        hits = retrieve.search(index, embed, q.query, self.config.evidence_passages)
        query_vec = embedded[0] if embedded else embed()
        cands = evidence.candidates(hits)
        # a follow-up searches with the previous question, but its evidence answers the question itself
        question_vec = self.embedder.encode([q.text])[0] if q.follow_up else query_vec
        cos = self.encode([c.text for c in cands]) @ question_vec if cands else np.zeros(0, np.float32)
        return Gathered(index, hits, cands, cos, index.idf(list(q.tokens)), self.tags([h.chunk.text for h in hits]))

    def evidence(self, q: question.Question) -> Found:
        """Retrieve for `q`, choose the evidence and weigh it (rag/answering/evidence.py, abstain.py)."""
        g = self.gather(q)
        selection = evidence.select(q, g.cands, g.cos, g.idf, g.hits, g.tags)
        return Found(g.index, g.hits, selection, abstain.assess(q, g.hits, selection, self.config), g.tags)

    def stream(self, text: str, history=None, always_generate: bool = False) -> Iterator[Piece]:
        """Yield what was `Retrieved`; the generator's unchecked draft as `str` pieces, if it runs;
        the checked text as `Verified` pieces, each as soon as it passed (rag/answering/live.py);
        then the `Answer` (its text is those pieces joined): a summary, or the short answer and its
        proof (rag/answering/compose.py), or the generated sentences the check accepted where the
        generator runs (`always_generate`: whatever the evidence), else the evidence quoted; or a refusal."""
        for item in self._stream(text, history, always_generate):
            yield self.paged(item) if isinstance(item, Answer) else item

    def paged(self, a: Answer) -> Answer:
        """`a` with the PDF page of each citation's first supporting sentence."""
        return replace(a, citations=[replace(c, page=self.page(c.doc_id, c.start + (c.spans[0][0] if c.spans else 0)))
                                     for c in a.citations])

    def page(self, doc_id: str, offset: int) -> int | None:
        """The PDF page (1-based) holding character `offset` of a document; None for other formats."""
        return page_at(self._documents[doc_id].pages, offset) if doc_id in self._documents else None

    def _stream(self, text: str, history, always_generate: bool) -> Iterator[Piece]:
        t0 = time.perf_counter()
        q = self.read(text, history)
        self.warm()
        t1 = time.perf_counter()
        found = self.evidence(q)
        judged, sources = found.assessment, found.sources
        shown = list(dict.fromkeys(found.hits[: self.config.top_k] + sources))
        timings = {"load": t1 - t0, "retrieve": time.perf_counter() - t1}
        notice = spelling.notice(q.corrections) + ("(Your question was shortened to fit the model.) "
                                                   if q.truncated else "")
        summarised = self.summarise(q) if summary.asks_summary(q.text) else None
        if summarised is not None:  # quoted from the document asked about: nothing to refuse
            checked, passages = summarised
            yield Retrieved(passages, 1.0, True, tuple(s.text for s in checked.statements))
            yield from map(Verified, live.pieces(checked.statements, notice))
            yield Answer(notice + checked.text, checked.citations, False,
                         {**timings, "total": time.perf_counter() - t0}, passages, [], 1.0, checked.statements)
            return
        yield Retrieved(shown, judged.confidence, judged.answerable, tuple(s.text for s in found.selection.sentences))
        if not judged.answerable:
            reply = notice + abstain.refusal(judged)
            yield Verified(reply)
            closest = [check.cited(h, n, supported=False) for n, h in enumerate(found.hits[: self.config.top_k], 1)]
            yield Answer(reply, closest, True, {**timings, "total": time.perf_counter() - t0}, shown,
                         confidence=judged.confidence)
            return
        chosen, t2 = compose.best_first(q, found.numbered), time.perf_counter()
        checked = None if always_generate else compose.answer_first(q, chosen, sources, found.source_tags,
                                                                    found.selection.weights)
        if checked is None and (always_generate or compose.worth_generating(q, chosen)):
            written = live.Live(q, chosen, sources, self.encode, found.index.vectors_of([h.row for h in sources]),
                                claims.checker(self.parser), notice)
            for piece in self.generator.stream(prompt.prompt(q.text, [(n, s.text) for n, s in chosen]),
                                               self.config.max_new_tokens, stop=prompt.enough):
                yield piece
                yield from map(Verified, written.feed(piece))
            checked, rest = written.close()
            yield from map(Verified, rest)
            timings.update(generate=time.perf_counter() - t2 - written.seconds, cite=written.seconds)
        else:
            checked = checked or quote.quote(chosen, sources)
            yield from map(Verified, live.pieces(checked.statements, notice))
        timings["total"] = time.perf_counter() - t0
        yield Answer(notice + checked.text, checked.citations, False, timings, shown, checked.dropped,
                     judged.confidence, checked.statements)

    def summarise(self, q: question.Question) -> tuple[check.Checked, list[Hit]] | None:
        """A summary of the document `q` asks about (rag/answering/summary.py) and the passages
        it quotes; None when no document holds at least half of the words it is asked about by."""
        about = summary.topic(q.query)
        tokens = stems([about])[0]
        found = [h.chunk.doc_id for h in self.retrieve(about)]
        doc = summary.document(about, self._documents, found, evidence.weights(tokens, self.index.idf(tokens)))
        if doc is None:
            return None
        passages = [Hit(c, doc.title, 0.0, -1, 0.0) for c in
                    chunk_document(doc, self.config.chunk_tokens, self.config.chunk_overlap)]
        cands = sorted({c.at: c for c in evidence.candidates(passages)}.values(), key=lambda c: c.at)
        picked = [cands[i] for i in summary.choose(cands, self.encode([c.text for c in cands]))]
        used = list(dict.fromkeys(c.passage for c in picked))  # overlapping passages: each sentence once
        said = [(used.index(c.passage) + 1, evidence.Sentence(c.passage, c.start, c.end, c.text, 1.0, "summary"))
                for c in picked]
        sources = [passages[p - 1] for p in used]
        return quote.quote(said, sources), sources

    def answer(self, text: str, history=None) -> Answer:
        *_, final = self.stream(text, history)
        return final
