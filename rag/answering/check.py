"""Tie every answer sentence to the passage that supports it, or drop it.

The generator's own [n] markers are not trusted (a 135M model rarely writes them, and
places them badly when it does). Each sentence is scored against every passage:

    support = 0.7 * lexical + 0.3 * semantic

lexical: share of the sentence's content terms present in the passage; semantic: cosine
of the sentence and passage embeddings. A sentence keeps the best-supporting passage as
its citation when support >= MIN_SUPPORT, lexical >= MIN_LEXICAL, and every number, name
and question term it states occurs in that passage (a small model swaps subjects:
"glocalization is a strategy to..." copied from a passage about relocalization), and its
claims hold there: what a number counts, who does what to whom, what is denied
(rag/answering/claims.py, given as `contradiction`: "50 countries" over "50 states" is
dropped though every word is in the passage). Otherwise it is dropped, and reported in `dropped`. Sentences that only
talk about the passages ("the passage does not say...") are dropped as well. Citations
are numbered in order of first use; passages no sentence uses are not cited.

Leaves out: whether what survives says what the evidence says, and the verbatim quote that
stands in when it does not (rag/answering/quote.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from ..text import names, numbers, sentence_spans, terms
from ..types import Citation, Hit, Removed, Statement
from .question import Question

MIN_SUPPORT = 0.55  # below this a sentence is not carried by any passage (see tests)
MIN_LEXICAL = 0.5  # at least half of what a sentence says must be in the passage's words
MIN_TERMS = 2  # fewer terms: a short answer, checkable only against the question
PREMISE = 0.5  # share of the question's terms a passage must hold to be about it
NEAR_DUPLICATE = 0.8  # term overlap (Jaccard) above which a sentence repeats an earlier one
_MARKER = re.compile(r"[ \t]*\[\d+(?:\s*,\s*\d+)*\]")
_PARTIAL_MARKER = re.compile(r"[ \t]*\[[\d,\s]*$")  # "[1" at the end of a text still being written
_META = re.compile(
    r"\b(the (given |provided )?(passages?|context|text|documents?) (does|do|did) not|"
    r"no (information|mention)|not (mentioned|provided|stated)|i (don't|do not) know|"
    r"(does|do|did) not (provide|say|state|mention|contain|give)|"
    r"(in|from) the (given |provided )?(passages?|context))\b",
    re.IGNORECASE,
)


_ECHO = re.compile(r"^(question|q)\s*:", re.IGNORECASE)  # the prompt's "Question: ..." said back
# "The answer to this question is: Colin Hines." -> "Colin Hines."
_PREAMBLE = re.compile(r"^(the |my )?answer( to (this|the) question)? is:?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Checked:
    text: str  # the kept sentences, each followed by its [n]
    citations: list[Citation]
    dropped: list[Removed]  # sentences removed, with the reason
    statements: list[Statement]  # the kept sentences, each with its citation number and origin


def sentences(text: str) -> list[str]:
    """Sentences of the model's answer, its own markers and list bullets removed."""
    return Sentences().feed(text, final=True)


class Sentences:
    """`sentences` of a text still being written: `feed` adds what was written since and returns
    the sentences it completed (a sentence is complete once the next one begins, or at `final`),
    each once, in order."""

    def __init__(self) -> None:
        self.text, self._done, self._seen = "", 0, []  # _done: characters of the marker-free text split

    def feed(self, more: str, final: bool = False) -> list[str]:
        self.text += more
        text = _MARKER.sub("", self.text if final else _PARTIAL_MARKER.sub("", self.text))
        spans = [(s + self._done, e + self._done) for s, e in sentence_spans(text[self._done:])]
        if not final:
            if len(spans) < 2:
                return []
            spans, self._done = spans[:-1], spans[-1][0]
        else:
            self._done = len(text)
        out = []
        for s, e in spans:
            sentence = _PREAMBLE.sub("", re.sub(r"^(\d+[.)]|[-*•])\s+", "", text[s:e])).strip()
            words = terms(sentence)
            if words and all(len(words & w) / len(words | w) < NEAR_DUPLICATE for w in self._seen):
                out.append(sentence)
                self._seen.append(words)
        return out


def lexical(sentence: str | Question, passage: str) -> float:
    """The share of the sentence's (or the question's) terms that the passage holds."""
    wanted = sentence.terms if isinstance(sentence, Question) else terms(sentence)
    return len(wanted & terms(passage)) / len(wanted) if wanted else 0.0


def unsupported_facts(sentence: str, passage: str, q: Question | None = None) -> set[str]:
    """Numbers, names and question terms the sentence states that the passage lacks.

    The question's own words restated in the answer are its premise, not a new claim: they
    may be paraphrased in the passage ("reincorporated into the Polish Crown" / "into
    Poland") as long as the passage holds at least half of the question's terms. A passage
    that holds fewer is about something else, and restating the question's subject over it
    is the swap a small model makes ("glocalization is..." over a passage on relocalization).
    """
    have, have_terms = passage.lower(), terms(passage)
    asked = q.terms if q is not None else frozenset()
    facts = {f for f in numbers(sentence) | names(sentence)
             if f not in have and f not in numbers(passage)}
    restated = (terms(sentence) & asked) - have_terms
    if asked and len(asked & have_terms) >= PREMISE * len(asked):
        asked_text = q.text.lower()
        return {f for f in facts if f not in asked_text}
    return facts | restated


def unsupported(sentence: str, passage: str, q: Question | None = None, contradiction=None) -> str | None:
    """Why `passage` does not carry `sentence`, in plain words, or None when it does: at least
    `MIN_LEXICAL` of its words, every number and name it states (`unsupported_facts`), and,
    given `contradiction(sentence, passage) -> reason | None` (rag/answering/claims.py over
    parses), what it counts, who does what and what it denies."""
    if lexical(sentence, passage) < MIN_LEXICAL:
        return "no passage says this"
    facts = unsupported_facts(sentence, passage, q)
    if facts:
        return f"states {', '.join(sorted(facts)[:3])}, which the passages do not"
    return contradiction(sentence, passage) if contradiction is not None else None


def _reason(sentence: str, hits: list[Hit], q: Question | None) -> str:
    """Why no passage supports `sentence`, in plain words, from the passage closest in words."""
    closest = max(hits, key=lambda h: lexical(sentence, h.chunk.text))
    facts = unsupported_facts(sentence, closest.chunk.text, q)
    if facts:
        return f"states {', '.join(sorted(facts)[:3])}, which the passages do not"
    return "no passage says this"


class Attacher:
    """`attach` one sentence at a time, as the generator writes them: each sentence is kept
    (cited to its best passage) or dropped the moment it is complete; `result()` is what
    `attach` returns for the same sentences."""

    def __init__(self, hits: list[Hit], passage_vecs: np.ndarray, q: Question | None = None,
                 contradiction=None) -> None:
        self.hits, self.passage_vecs, self.q, self.contradiction = hits, passage_vecs, q, contradiction
        self.kept: list[Statement] = []
        self.dropped: list[Removed] = []
        self._used: dict[int, int] = {}  # passage index -> its citation number, in order of first use
        self._spans: dict[int, set[tuple[int, int]]] = {}

    def add(self, sentence: str, vec: np.ndarray) -> Statement | None:
        """The sentence kept with its citation number, or None when it is dropped (`dropped` says why).

        A short answer ("1526.", "Colin Hines.") is checked as the answer to the question: its
        every word must be in a passage that holds the question's terms."""
        hits, q, contradiction = self.hits, self.q, self.contradiction
        words = terms(sentence)
        short = len(words) < MIN_TERMS
        if _META.search(sentence):
            return self._drop(sentence, "talks about the passages instead of answering")
        if sentence.rstrip().endswith("?") or _ECHO.match(sentence):
            return self._drop(sentence, "asks a question instead of answering")
        if not hits or not words or (short and q is None):
            return self._drop(sentence, "says nothing that can be checked")
        sims = self.passage_vecs @ vec
        best, best_support, claim = None, 0.0, None
        for j, hit in enumerate(hits):
            lex = lexical(sentence, hit.chunk.text)
            support = 0.7 * lex + 0.3 * float(sims[j])
            if short and (lex < 1 or lexical(q, hit.chunk.text) < PREMISE):
                continue
            if support > best_support and lex >= MIN_LEXICAL and not unsupported_facts(sentence, hit.chunk.text, q):
                wrong = contradiction(sentence, hit.chunk.text) if contradiction is not None else None
                if wrong is None:
                    best, best_support = j, support
                else:
                    claim = claim or wrong
        if best is None or best_support < MIN_SUPPORT:
            return self._drop(sentence, claim if best is None and claim else _reason(sentence, hits, q))
        n = self._used.setdefault(best, len(self._used) + 1)
        self.kept.append(Statement(sentence, n, quoted=False))
        self._spans.setdefault(best, set()).add(supporting_span(sentence, hits[best].chunk.text))
        return self.kept[-1]

    def _drop(self, sentence: str, reason: str) -> None:
        self.dropped.append(Removed(sentence, reason))

    def result(self) -> Checked:
        citations = [cited(self.hits[j], n, spans=tuple(sorted(self._spans[j])))
                     for j, n in sorted(self._used.items(), key=lambda kv: kv[1])]
        return Checked(joined(self.kept), citations, list(self.dropped), list(self.kept))


def attach(parts: list[str], hits: list[Hit], sentence_vecs: np.ndarray,
           passage_vecs: np.ndarray, q: Question | None = None, contradiction=None) -> Checked:
    """Keep the supported sentences (`parts`, from `sentences()`; `sentence_vecs` are their
    embeddings), each cited to its best passage; `contradiction` as in `unsupported`."""
    attacher = Attacher(hits, passage_vecs, q, contradiction)
    for sentence, vec in zip(parts, sentence_vecs, strict=True):
        attacher.add(sentence, vec)
    return attacher.result()


def joined(statements: list[Statement]) -> str:
    """The answer text: each sentence followed by its marker."""
    return " ".join(f"{s.text} [{s.n}]" for s in statements)


def supporting_span(sentence: str, passage: str) -> tuple[int, int]:
    """Offsets of the passage sentence that shares the most words with `sentence`."""
    spans = sentence_spans(passage) or [(0, len(passage))]
    return max(spans, key=lambda se: lexical(sentence, passage[se[0]:se[1]]))


def cited(hit: Hit, n: int, supported: bool = True, spans: tuple[tuple[int, int], ...] = ()) -> Citation:
    """The citation [n] of a retrieved passage."""
    c = hit.chunk
    return Citation(n, c.doc_id, hit.title, c.text, c.start, c.end, hit.score, supported, spans)
