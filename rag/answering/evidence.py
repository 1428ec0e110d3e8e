"""Choose the evidence: the passage sentences that answer the question.

Between retrieve and generate. The retrieved passages are split into sentences; each is
scored against the question (0.5 MiniLM cosine + 0.5 IDF-weighted share of the question's
stemmed words, less 0.05 per passage rank) and the evidence is built around the best one:

- its neighbour, when the best sentence does not finish the thought: it ends on a colon,
  it says little beyond the question, or the next sentence carries it on ("Still others",
  "What remains", "So ..."), and the sentence before it when the best one starts with a
  pronoun whose subject is there (such a sentence is also matched with that subject);
- for a list question ("what kinds", "which ...s", "in what forms"), the following
  sentences that continue the enumeration, unless the best one holds the list already;
- the runner-up sentence, when it is in the same document or scores 0.8 of the best;
- for a question with two parts or two subjects ("..., and what ...", "each", "both"), the
  best sentence of another document, else the best one for what the evidence still lacks;
- for "when was it published?", the page's date line.

For a "why" question a sentence that gives a reason ("because", "due to", "is essential
for", "leads to") scores 0.1 more (docs/quality.md has what it moved).

At most `MAX_SENTENCES` sentences, the best one's document first, each document in reading
order; a sentence repeated by overlapping passages is taken once. Navigation lines ("See our
entry on ..."), URLs, headings and captions are never evidence. What the evidence leaves out
of the question (a name, a number, the kind of answer asked for) is weighed in
rag/answering/abstain.py. Plain data in and out: no model is called here (the cosines come in);
how often the evidence holds the answer: `python tools/tune_evidence.py`, docs/quality.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..text import sentence_spans, stems, terms
from ..types import Hit
from .question import DATE, Question

MIN_TERMS = 3  # headings and fragments ("Stroke 1", a lone title) are not evidence on their own
MAX_SENTENCES = 4  # a quoted answer stays short
COS_WEIGHT = 0.5  # sentence score = COS_WEIGHT * cosine + (1 - COS_WEIGHT) * weighted word share
PASSAGE_WEIGHT = 0.05  # per rank step down the retrieved passages
WHY_BONUS = 0.1  # for a "why" question, added to a sentence that gives a reason (see _REASON)
SECOND_PART = 0.6  # a second-part sentence must score this share of the best one
RUNNER_UP = 0.8  # the runner-up sentence is kept when it is in the best one's document, or scores this
# share of the best one
HEADING_WORDS = 10  # a line this short without a full stop is a heading or a caption, not a statement
_NAVIGATION = re.compile(r"^(see (our|the|also)\b|read (our|more)\b|skip to\b|click\b|download\b|share\b|"
                         r"recent (articles|posts)\b|more information\b)", re.I)
_URL = re.compile(r"\(?\b(https?://|www\.)\S+")
_CARRIES_ON = re.compile(r"^(so|thus|therefore|hence|that is|this means|as a result|because|what remains|"
                         r"still|and|also|but|however|moreover|furthermore|others|another|"
                         r"there (are|is|were|was)|finally|first|second|third|\d+[.)])\b", re.I)
_REASON = re.compile(r"\b(because|since|due to|so that|in order to|as a result|leads? to|led to|thanks to|caused by|"
                     r"driven by|(is|are|was|were) (essential|crucial|necessary|vital|important|key) (for|to)|"
                     r"reasons?|result(ed|s)? in)\b", re.I)
_LIST_GOES_ON = re.compile(r"^(still|and|also|another|others|finally|first|second|third|moreover|furthermore|"
                           r"in addition|besides|there (are|is|were|was)|\d+[.)])\b", re.I)
_ENUMERATES = re.compile(r"\w+, [\w -]+,? (and|or) \w+")  # "apparel, jewelry and accessories": the list is here
_STARTS_WITH_PRONOUN = re.compile(r"^(it|its|they|their|these|this|those|he|she|his|her)\b", re.I)


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
    score: float  # how well it matches the question (0 for a sentence taken as context)
    role: str  # "match" (the best), "next", "previous", "list" or "dated" (what completes it), "also" (the
    # runner-up and what completes it) or "part" (what the best leaves of a two-part question)


@dataclass(frozen=True)
class Selection:
    sentences: tuple[Sentence, ...]  # the evidence: the best match's document first, in reading order
    cos: np.ndarray  # per candidate: cosine with the question
    overlap: np.ndarray  # per candidate: IDF-weighted share of the question's words it holds
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
        if i and _STARTS_WITH_PRONOUN.match(c.text) and cands[i - 1].passage == c.passage:
            out[i] = tokens[i] | tokens[i - 1]
    return out


def weights(tokens: list[str], idf: dict[str, float]) -> dict[str, float]:
    """Each distinct question token with its IDF (a word seen nowhere weighs the most)."""
    top = max(idf.values(), default=1.0)
    return {t: idf.get(t, top) for t in dict.fromkeys(tokens)}


def overlap(wanted: dict[str, float], tokens: set[str]) -> float:
    """The IDF-weighted share of the question's tokens present in `tokens`."""
    total = sum(wanted.values())
    return sum(w for t, w in wanted.items() if t in tokens) / total if total else 0.0


def score(cos: np.ndarray, lexical: np.ndarray, passages: np.ndarray) -> np.ndarray:
    """Sentence scores: cosine and weighted word share, less a little per passage rank."""
    return COS_WEIGHT * cos + (1 - COS_WEIGHT) * lexical - PASSAGE_WEIGHT * (passages - 1)


class _Picker:
    """The evidence being built: which candidates are taken, and in what role. Overlapping
    passages repeat sentences: each is taken once, and its neighbour is looked for in every
    passage that holds it."""

    def __init__(self, q: Question, cands: list[Candidate]) -> None:
        self.cands, self.asked = cands, q.terms
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

    def complete(self, i: int, role: str | None = None) -> None:
        """Take what candidate `i` needs to finish its thought: the next sentence, the one before."""
        c = self.cands[i]
        nxt, prev = self.at(i, 1), self.at(i, -1)
        says_little = len(terms(c.text) - self.asked) < 2
        if nxt is not None and (c.text.rstrip().endswith(":") or says_little or
                                _CARRIES_ON.match(self.cands[nxt].text)):
            self.pick(nxt, role or "next")
        if prev is not None and _STARTS_WITH_PRONOUN.match(c.text):
            self.pick(prev, role or "previous")

    def covered(self, cand_tokens: list[set[str]]) -> set[str]:
        return set().union(*(cand_tokens[i] for i, _ in self.picked.values()))


def choose(q: Question, cands: list[Candidate], scores: np.ndarray, wanted: dict[str, float],
           cand_tokens: list[set[str]]) -> tuple[Sentence, ...]:
    """The evidence for `q`: the best sentence and what completes it (module doc)."""
    if not cands:
        return ()
    order = [int(i) for i in np.argsort(-scores, kind="stable")]
    best = order[0]
    p = _Picker(q, cands)
    p.pick(best, "match")
    p.complete(best)
    if q.lists and not _ENUMERATES.search(cands[best].text):
        i = best  # the list goes on in the next sentences ("There are those who ... Still others ...")
        while (i := p.at(i, 1)) is not None and _LIST_GOES_ON.match(cands[i].text):
            if not p.has(i) and not p.pick(i, "list"):
                break
    runner = next((i for i in order[1:] if not p.has(i) and not p.overlaps(i)), None)
    if runner is not None and (cands[runner].doc_id == cands[best].doc_id or scores[runner] >= RUNNER_UP *
                               scores[best]) and p.pick(runner, "also"):
        p.complete(runner, "also")
    if q.asks == "date" and q.published:
        _date_line(p, order, best)
    if q.two_parts:
        _second_part(p, order, best, scores, wanted, cand_tokens)
    lead = cands[best].doc_id  # the best sentence's document leads; each document reads in order
    chosen = sorted(p.picked.values(), key=lambda x: (cands[x[0]].doc_id != lead, cands[x[0]].doc_id, cands[x[0]].at))
    return tuple(Sentence(cands[i].passage, cands[i].start, cands[i].end, cands[i].text,
                          float(scores[i]) if role in ("match", "also", "part") else 0.0, role) for i, role in chosen)


def _date_line(p: _Picker, order: list[int], best: int) -> None:
    """"When was it posted?": a web page's date line, in the best sentence's document."""
    cands = p.cands
    dated = [i for i in order if cands[i].doc_id == cands[best].doc_id and DATE.search(cands[i].text)
             and len(cands[i].text.split()) < HEADING_WORDS]
    key = _key(cands[dated[0]].text) if dated else ""
    if dated and not p.pick(dated[0], "dated") and key in p.picked and p.picked[key][1] != "match":
        p.picked[key] = (dated[0], "dated")  # already there as the runner-up (the best match stays the match)


def _second_part(p: _Picker, order: list[int], best: int, scores: np.ndarray, wanted: dict[str, float],
                 cand_tokens: list[set[str]]) -> None:
    """The other part of a two-part question: first the best sentence of another document (two
    subjects are often two documents), else the best one holding what the evidence still lacks."""
    cands = p.cands
    docs = {cands[i].doc_id for i, _ in p.picked.values()}
    covered = p.covered(cand_tokens)
    left = {t: w for t, w in wanted.items() if t not in covered}
    other = next((i for i in order[1:] if cands[i].doc_id not in docs), None)
    if other is not None and scores[other] >= SECOND_PART * scores[best]:
        if p.pick(other, "part"):
            p.complete(other)
        return
    for i in order[1:] if left else ():
        if not p.has(i) and overlap(left, cand_tokens[i]) > 0 and scores[i] >= SECOND_PART * scores[best]:
            if p.pick(i, "part"):
                p.complete(i)
            break


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def select(q: Question, cands: list[Candidate], cos: np.ndarray, idf: dict[str, float]) -> Selection:
    """Score every candidate against the question and choose the evidence."""
    wanted = weights(list(q.tokens), idf)
    tokens = with_context(cands, [set(t) for t in stems([c.text for c in cands])]) if cands else []
    shares = np.array([overlap(wanted, t) for t in tokens], np.float32)
    scores = score(cos, shares, np.array([c.passage for c in cands]))
    if q.why:  # the answer to "why" is the sentence that gives a reason
        scores = scores + WHY_BONUS * np.array([bool(_REASON.search(c.text)) for c in cands])
    chosen = choose(q, cands, scores, wanted, tokens)
    where = {(c.passage, c.start): i for i, c in enumerate(cands)}
    # the evidence's closest sentence: a sentence that says "It ..." embeds without its subject
    best_cos = max((float(cos[where[s.passage, s.start]]) for s in chosen), default=0.0)
    return Selection(chosen, cos, shares, wanted, best_cos)
