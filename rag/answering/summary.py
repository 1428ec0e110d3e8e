"""Summaries: "Summarize X", "give me the gist of X", "what is X about" are answered with
sentences of the one document asked about, from across all of it, each cited.

The sentences are chosen by centrality and maximal marginal relevance over their embeddings
(Carbonell and Goldstein 1998): the document is cut into `PARTS` stretches of equal length,
the most central sentence of each (closest to the document's mean embedding) is taken, and
then, while there is room, the sentence that best trades centrality against likeness to
what is taken (`MMR`). At most `MAX_SENTENCES` and `MAX_WORDS`, in reading order.
Headings, navigation lines and fragments are never chosen (rag/answering/evidence.py
`candidates`). The document is the one that holds the most of what the question is about
(`document`). Leaves out: retrieval, chunking and embedding (rag/pipeline.py passes them in).
"""

from __future__ import annotations

import re

import numpy as np

from ..text import terms
from ..types import Document
from .check import PREMISE
from .evidence import Candidate

_ASKS = re.compile(
    r"^(please |can you |could you )?(summari[sz]e|sum up|recap|outline)\b|"
    r"\b(give|write|show) (me )?(an? |the )?(short |brief |quick |one-paragraph )?(summary|overview|gist|rundown|"
    r"recap|synopsis)\b|"
    r"\b(summary|overview|gist|synopsis|tl;?dr) of\b|"
    r"\bwhat(?:'s| is| are) (the )?(gist|main (message|point|points|idea|ideas|argument|takeaways?)|key (points|ideas|"
    r"takeaways?))\b|"
    r"^what(?:'s| is) (the |this |that )?[\w' -]{0,40}\b(article|essay|post|document|report|paper|piece|blog|page|"
    r"story|text|book|file)\b[\w' -]{0,40} about\??$|^tl;?dr\b", re.I)  # "what is X about" of a document, not of
# a subject inside one ("What is Pelqurat about?" is a question about Pelqurat)
# the words that ask for a summary, left out of what retrieval searches for
_ASKING_WORDS = re.compile(r"\b(please|can|could|you|summari[sz]e|sum|up|recap|outline|give|write|show|me|short|"
                           r"brief|quick|one-paragraph|summary|overview|gist|rundown|synopsis|tl;?dr|main|message|"
                           r"point|points|idea|ideas|argument|key|takeaways?|about|what|what's|is|the|of|a|an|this|that|article|essay|post|"
                           r"document|report|paper|piece|blog|page|story|text|book|file)\b", re.I)
PARTS = 3  # beginning, middle, end: a summary covers the whole document
MIN_SENTENCES, MAX_SENTENCES = 3, 6
MAX_WORDS = 120
MMR = 0.7  # weight of centrality against likeness to the sentences already taken
LONG = 40  # a sentence longer than this (words) is taken only when nothing shorter is left
SHORT = 8  # ... or shorter than this: "Markets adapted." says little out of its place


def asks_summary(question: str) -> bool:
    """Whether the question asks for a summary of a document."""
    return bool(_ASKS.search(question.strip()))


def topic(question: str) -> str:
    """What the summary is of: the question without the words that ask for one."""
    left = _ASKING_WORDS.sub(" ", question)
    return " ".join(left.replace("?", " ").split()) or question


def document(about: str, documents: dict[str, Document], found: list[str],
             weight: dict[str, float]) -> Document | None:
    """The document asked `about`: of those `found` for it (ids, best first) and those whose
    title names some of it, the one that holds the most of its words, each weighed by its
    IDF (`weight`: a word every document uses tells nothing), a word of the title by half as
    much again; None when it holds fewer than half of them (`PREMISE`)."""
    asked = terms(about)
    named = [i for i, d in documents.items() if asked & terms(d.title)]
    ids = [i for i in dict.fromkeys(found + named) if i in documents]

    def holds(d: Document) -> float:
        text, title = terms(d.text), terms(d.title)
        return sum(w * ((t in text) + 0.5 * (t in title)) for t, w in weight.items())

    doc = max((documents[i] for i in ids), key=holds, default=None)
    if doc is None or len(asked & terms(doc.title + " " + doc.text)) < PREMISE * len(asked):
        return None
    return doc


def choose(cands: list[Candidate], vectors: np.ndarray) -> list[int]:
    """Which of the document's sentences (`cands`, in reading order, with their `vectors`)
    make its summary, by position in `cands` (module doc)."""
    if not cands:
        return []
    v = vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)
    mean = v.mean(axis=0)
    central = v @ (mean / max(float(np.linalg.norm(mean)), 1e-9))
    size = [len(c.text.split()) for c in cands]
    taken: list[int] = []

    def fits(i: int) -> bool:
        return sum(size[j] for j in taken) + size[i] <= MAX_WORDS

    parts = np.array_split(np.arange(len(cands)), min(PARTS, len(cands)))
    for part in parts:
        ok = [i for i in part if fits(i) and SHORT <= size[i] <= LONG] or [i for i in part if fits(i)]
        if ok:
            taken.append(max(ok, key=lambda i: central[i]))
    while len(taken) < MAX_SENTENCES:
        rest = [i for i in range(len(cands)) if i not in taken and fits(i) and size[i] >= SHORT]
        if not rest:
            break
        best = max(rest, key=lambda i: MMR * central[i] - (1 - MMR) * max(float(v[i] @ v[j]) for j in taken))
        if len(taken) >= MIN_SENTENCES and MMR * central[best] - (1 - MMR) * max(
                float(v[best] @ v[j]) for j in taken) <= 0:
            break  # what is left mostly repeats what is taken
        taken.append(best)
    return sorted(taken)
