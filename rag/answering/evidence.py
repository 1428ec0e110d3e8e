"""Choose the evidence: the passage sentences that answer the question.

Between retrieve and generate. The retrieved passages are split into sentences; every one is
described by rag/answering/features.py and scored by the evidence ranker (rag/answering/
learned.py: trees fitted by `make fit` on SQuAD questions, the chance that the sentence holds
the answer). The evidence is built around the best one, each addition decided by the same
scores against ratios chosen with the ranker on fitting data (its file's `settings`):

- the sentences next to it, while they score `neighbour` of the best (for a list question
  this is how the enumeration goes on);
- the sentence before it when it starts with a pronoun whose subject is there ("They work
  with ...": such a sentence is also matched with that subject's words);
- the runner-up sentence, when it scores `also` of the best;
- for a question with two parts or two subjects ("..., and what ...", "each", "both"), the
  best sentence of another document, when it scores `part` of the best.

At most `MAX_SENTENCES` sentences, the best one's document first, each document in reading
order; a sentence repeated by overlapping passages is taken once. Navigation lines ("See our
entry on ..."), URLs, headings and captions are never evidence. Whether the evidence answers
the question at all is rag/answering/abstain.py's decision. Plain data in and out: the
cosines and the entity tags come in; how often the evidence holds the answer is printed by
`make fit` (docs/quality.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..models.entities import Span
from ..text import sentence_spans, stems, terms
from ..types import Hit
from . import features, learned
from .question import DATE, Question

MIN_TERMS = 3  # headings and fragments ("Stroke 1", a lone title) are not evidence on their own
MAX_SENTENCES = 4  # a quoted answer stays short
HEADING_WORDS = 10  # a line this short without a full stop is a heading or a caption, not a statement
_NAVIGATION = re.compile(r"^(see (our|the|also)\b|read (our|more)\b|skip to\b|click\b|download\b|share\b|"
                         r"recent (articles|posts)\b|more information\b)", re.I)
_URL = re.compile(r"\(?\b(https?://|www\.)\S+")


@dataclass(frozen=True)
class Candidate:
    passage: int  # 1-based number of the retrieved passage (hit) it comes from
    index: int  # its position among that passage's sentences
    start: int  # offsets in the passage (chunk) text
    end: int
    text: str
    doc_id: str
    at: int  # offset in the document: orders sentences of overlapping passages


@dataclass(frozen=True)
class Sentence:
    passage: int  # 1-based number of the retrieved passage it comes from
    start: int  # offsets in the passage (chunk) text, as Citation.spans
    end: int
    text: str
    score: float  # the ranker's chance that it holds the answer
    role: str  # "match" (the best), "next", "previous" or "list" (what completes it), "also" (the runner-up and
    # what completes it) or "part" (what the best leaves of a two-part question)


@dataclass(frozen=True)
class Selection:
    sentences: tuple[Sentence, ...]  # the evidence: the best match's document first, in reading order
    cos: np.ndarray  # per candidate: cosine with the question
    rows: np.ndarray  # per candidate: its features (rag/answering/features.py SENTENCE_FEATURES)
    ranked: np.ndarray  # per candidate: the ranker's chance that it holds the answer
    best: int  # the best candidate
    chosen: tuple[int, ...]  # the candidate of each evidence sentence
    weights: dict[str, float]  # the question's stemmed words and their IDF
    best_cos: float  # the highest cosine of the question and an evidence sentence


def candidates(hits: list[Hit]) -> list[Candidate]:
    """Every informative sentence of the passages, with its offsets.

    A fragment ("Colin Hines." after a book title, "Migrants." in a list of fragments)
    joins the sentence before it on the same line; headings and navigation lines are left out."""
    out = []
    for n, h in enumerate(hits, 1):
        text, spans = h.chunk.text, []
        for s, e in sentence_spans(text):
            if spans and len(terms(text[s:e])) < MIN_TERMS and "\n" not in text[spans[-1][1]:s]:
                spans[-1] = (spans[-1][0], e)
            else:
                spans.append((s, e))
        kept = [(s, e) for s, e in spans if len(terms(_URL.sub(" ", text[s:e]))) >= MIN_TERMS
                and not _NAVIGATION.match(text[s:e])
                and not _heading(text, s, e)]
        out.extend(Candidate(n, i, s, e, text[s:e], h.chunk.doc_id, h.chunk.start + s) for i, (s, e) in enumerate(kept))
    return out


def _heading(text: str, s: int, e: int) -> bool:
    """A short line of its own with no full stop ("Mata Traders's founding team") names or
    captions something; a dated line ("January 30th, 2024") still counts as a statement."""
    alone = (s == 0 or text[s - 1] == "\n") and (e == len(text) or text[e] == "\n")
    return (alone and len(text[s:e].split()) < HEADING_WORDS and not re.search(r"[.!?:;\"”]$", text[s:e])
            and not DATE.search(text[s:e]))


def with_context(cands: list[Candidate], tokens: list[set[str]]) -> list[set[str]]:
    """A sentence's words for matching: a sentence that starts with a pronoun ("They work
    with ...") also has the words of the one before it, where its subject is."""
    out = list(tokens)
    for i, c in enumerate(cands):
        if i and features.PRONOUN.match(c.text) and cands[i - 1].passage == c.passage:
            out[i] = tokens[i] | tokens[i - 1]
    return out


def weights(tokens: list[str], idf: dict[str, float]) -> dict[str, float]:
    """Each distinct question token with its IDF (a word seen nowhere weighs the most)."""
    top = max(idf.values(), default=1.0)
    return {t: idf.get(t, top) for t in dict.fromkeys(tokens)}


class _Picker:
    """The evidence being built: which candidates are taken, and in what role. Overlapping
    passages repeat sentences: each is taken once, and its neighbour is looked for in every
    passage that holds it."""

    def __init__(self, cands: list[Candidate]) -> None:
        self.cands = cands
        self.by_place = {(c.passage, c.index): i for i, c in enumerate(cands)}
        self.same: dict[str, list[int]] = {}
        for i, c in enumerate(cands):
            self.same.setdefault(_key(c.text), []).append(i)
        self.picked: dict[str, tuple[int, str]] = {}  # text key -> (candidate, role)

    def has(self, i: int) -> bool:
        return _key(self.cands[i].text) in self.picked

    def overlaps(self, i: int) -> bool:
        """Overlapping passages cut fragments differently: the same words, other ends."""
        c, cands = self.cands[i], self.cands
        return any(cands[j].doc_id == c.doc_id and cands[j].at < c.at + len(c.text) and c.at < cands[j].at +
                   len(cands[j].text) for j, _ in self.picked.values())

    def pick(self, i: int, role: str) -> bool:
        if len(self.picked) >= MAX_SENTENCES or self.has(i) or self.overlaps(i):
            return False
        self.picked[_key(self.cands[i].text)] = (i, role)
        return True

    def at(self, i: int, step: int) -> int | None:
        """The sentence `step` places after candidate `i` (before, when negative), in any passage holding it."""
        for j in self.same[_key(self.cands[i].text)]:
            k = self.by_place.get((self.cands[j].passage, self.cands[j].index + step))
            if k is not None:
                return k
        return None

    def subject(self, i: int, role: str) -> None:
        """A sentence that starts with a pronoun brings the one before it, where its subject is."""
        prev = self.at(i, -1)
        if prev is not None and features.PRONOUN.match(self.cands[i].text):
            self.pick(prev, role)


def choose(q: Question, cands: list[Candidate], ranked: np.ndarray, settings: dict) -> tuple[Sentence, ...]:
    """The evidence for `q`: the best sentence and what completes it (module doc)."""
    if not cands:
        return ()
    order = [int(i) for i in np.argsort(-ranked, kind="stable")]
    best = order[0]
    top = ranked[best]
    p = _Picker(cands)
    p.pick(best, "match")
    for step, role in ((1, "list" if q.lists else "next"), (-1, "previous")):
        i = best  # the neighbours the ranker rates close to the best: the thought, or the list, goes on
        while (i := p.at(i, step)) is not None and ranked[i] >= settings["neighbour"] * top and p.pick(i, role):
            pass
    p.subject(best, "previous")
    runner = next((i for i in order[1:] if not p.has(i) and not p.overlaps(i)), None)
    if runner is not None and ranked[runner] >= settings["also"] * top and p.pick(runner, "also"):
        p.subject(runner, "also")
    if q.two_parts:  # two subjects are often two documents
        docs = {cands[i].doc_id for i, _ in p.picked.values()}
        other = next((i for i in order[1:] if cands[i].doc_id not in docs), None)
        if other is not None and ranked[other] >= settings["part"] * top and p.pick(other, "part"):
            p.subject(other, "part")
    lead = cands[best].doc_id  # the best sentence's document leads; each document reads in order
    chosen = sorted(p.picked.values(), key=lambda x: (cands[x[0]].doc_id != lead, cands[x[0]].doc_id, cands[x[0]].at))
    return tuple(Sentence(cands[i].passage, cands[i].start, cands[i].end, cands[i].text, float(ranked[i]), role)
                 for i, role in chosen)


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def describe(q: Question, cands: list[Candidate], cos: np.ndarray, idf: dict[str, float], hits: list[Hit],
             tags: list[tuple[Span, ...]]) -> tuple[dict[str, float], np.ndarray]:
    """The question's weighted words and every candidate's ranker features (what `make fit` fits on)."""
    wanted = weights(list(q.tokens), idf)
    own = stems([c.text for c in cands]) if cands else []
    tokens = with_context(cands, [set(t) for t in own])
    return wanted, features.sentence_rows(q, cands, cos, wanted, own, tokens, hits, tags)


def select(q: Question, cands: list[Candidate], cos: np.ndarray, idf: dict[str, float], hits: list[Hit],
           tags: list[tuple[Span, ...]], ranker: learned.Trees | None = None) -> Selection:
    """Score every candidate against the question with the ranker and choose the evidence.
    `tags`: each hit's entity spans (rag/models/entities.py), offsets in its chunk text."""
    ranker = ranker or learned.ranker()
    wanted, rows = describe(q, cands, cos, idf, hits, tags)
    ranked = ranker.predict(rows) if cands else np.zeros(0)
    chosen = choose(q, cands, ranked, ranker.settings)
    where = {(c.passage, c.start): i for i, c in enumerate(cands)}
    picked = tuple(where[s.passage, s.start] for s in chosen)
    # the evidence's closest sentence: a sentence that says "It ..." embeds without its subject
    best_cos = max((float(cos[i]) for i in picked), default=0.0)
    best = int(np.argmax(ranked)) if cands else -1
    return Selection(chosen, cos, rows, ranked, best, picked, wanted, best_cos)
