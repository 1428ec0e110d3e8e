"""Tie every answer sentence to the passage that supports it, or drop it.

The generator's own [n] markers are not trusted (a 135M model rarely writes them, and
places them badly when it does). Each sentence is scored against every passage:

    support = 0.5 * lexical + 0.5 * semantic

lexical: share of the sentence's content terms present in the passage; semantic: cosine
of the sentence and passage embeddings. A sentence keeps the best-supporting passage as
its citation when support >= MIN_SUPPORT and every number and name it states occurs in
that passage; otherwise it is dropped, and reported in `dropped`. Sentences that only
talk about the passages ("the passage does not say...") are dropped as well. Citations
are numbered in order of first use; passages no sentence uses are not cited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from .chunk import sentence_spans
from .text import names, numbers, terms
from .types import Citation, Hit

MIN_SUPPORT = 0.45  # below this a sentence is not carried by any passage (see tests)
_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")
_META = re.compile(
    r"\b(the (given |provided )?(passages?|context|text|documents?) (does|do|did) not|"
    r"no (information|mention)|not (mentioned|provided|stated)|i (don't|do not) know|"
    r"(in|from) the (given |provided )?(passages?|context))\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Checked:
    text: str  # the kept sentences, each followed by its [n]
    citations: list[Citation]
    dropped: list[str]  # sentences removed for lack of support


def sentences(text: str) -> list[str]:
    """Sentences of the model's answer, its own markers and list bullets removed."""
    text = _MARKER.sub("", text)
    out = []
    for s, e in sentence_spans(text):
        sentence = re.sub(r"^(\d+[.)]|[-*•])\s+", "", text[s:e]).strip()
        if len(terms(sentence)) >= 1 and sentence not in out:  # a repeated sentence adds nothing
            out.append(sentence)
    return out


def lexical(sentence: str, passage: str) -> float:
    wanted = terms(sentence)
    return len(wanted & terms(passage)) / len(wanted) if wanted else 0.0


def unsupported_facts(sentence: str, passage: str) -> set[str]:
    """Numbers and names the sentence states that the passage does not contain."""
    have = passage.lower()
    facts = numbers(sentence) | names(sentence)
    return {f for f in facts if f.lower() not in have and f.lower() not in numbers(passage)}


def attach(answer: str, hits: list[Hit], sentence_vecs: np.ndarray,
           passage_vecs: np.ndarray) -> Checked:
    """Keep the supported sentences of `answer`, each cited to its best passage."""
    parts = sentences(answer)
    kept, used, dropped = [], {}, []
    for i, sentence in enumerate(parts):
        if _META.search(sentence) or not hits:
            dropped.append(sentence)
            continue
        sims = passage_vecs @ sentence_vecs[i]
        best, best_support = None, 0.0
        for j, hit in enumerate(hits):
            support = 0.5 * lexical(sentence, hit.chunk.text) + 0.5 * float(sims[j])
            if support > best_support and not unsupported_facts(sentence, hit.chunk.text):
                best, best_support = j, support
        if best is None or best_support < MIN_SUPPORT:
            dropped.append(sentence)
            continue
        n = used.setdefault(best, len(used) + 1)
        kept.append(f"{sentence} [{n}]")
    citations = []
    for j, n in sorted(used.items(), key=lambda kv: kv[1]):
        h = hits[j]
        citations.append(Citation(n, h.chunk.doc_id, h.title, h.chunk.text, h.chunk.start,
                                  h.chunk.end, h.score))
    return Checked(" ".join(kept), citations, dropped)
