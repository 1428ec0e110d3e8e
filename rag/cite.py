"""Tie every answer sentence to the passage that supports it, or drop it.

The generator's own [n] markers are not trusted (a 135M model rarely writes them, and
places them badly when it does). Each sentence is scored against every passage:

    support = 0.7 * lexical + 0.3 * semantic

lexical: share of the sentence's content terms present in the passage; semantic: cosine
of the sentence and passage embeddings. A sentence keeps the best-supporting passage as
its citation when support >= MIN_SUPPORT, lexical >= MIN_LEXICAL, and every number, name
and question term it states occurs in that passage (a small model swaps subjects:
"glocalization is a strategy to..." copied from a passage about relocalization).
Otherwise it is dropped, and reported in `dropped`. Sentences that only
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

MIN_SUPPORT = 0.55  # below this a sentence is not carried by any passage (see tests)
MIN_LEXICAL = 0.5  # at least half of what a sentence says must be in the passage's words
MIN_TERMS = 2  # a lone word ("Social", a heading) says nothing checkable
NEAR_DUPLICATE = 0.8  # term overlap (Jaccard) above which a sentence repeats an earlier one
_MARKER = re.compile(r"[ \t]*\[\d+(?:\s*,\s*\d+)*\]")
_META = re.compile(
    r"\b(the (given |provided )?(passages?|context|text|documents?) (does|do|did) not|"
    r"no (information|mention)|not (mentioned|provided|stated)|i (don't|do not) know|"
    r"(does|do|did) not (provide|say|state|mention|contain|give)|"
    r"(in|from) the (given |provided )?(passages?|context))\b",
    re.IGNORECASE,
)


# "The answer to this question is: Colin Hines." -> "Colin Hines."
_PREAMBLE = re.compile(r"^(the |my )?answer( to (this|the) question)? is:?\s*", re.IGNORECASE)


@dataclass(frozen=True)
class Checked:
    text: str  # the kept sentences, each followed by its [n]
    citations: list[Citation]
    dropped: list[str]  # sentences removed for lack of support


def sentences(text: str) -> list[str]:
    """Sentences of the model's answer, its own markers and list bullets removed."""
    text = _MARKER.sub("", text)
    out, seen = [], []
    for s, e in sentence_spans(text):
        sentence = _PREAMBLE.sub("", re.sub(r"^(\d+[.)]|[-*•])\s+", "", text[s:e])).strip()
        words = terms(sentence)
        if words and all(len(words & w) / len(words | w) < NEAR_DUPLICATE for w in seen):
            out.append(sentence)
            seen.append(words)
    return out


def lexical(sentence: str, passage: str) -> float:
    wanted = terms(sentence)
    return len(wanted & terms(passage)) / len(wanted) if wanted else 0.0


def unsupported_facts(sentence: str, passage: str, question: str = "") -> set[str]:
    """Numbers, names and question terms the sentence states that the passage lacks."""
    have, have_terms = passage.lower(), terms(passage)
    facts = {f for f in numbers(sentence) | names(sentence)
             if f not in have and f not in numbers(passage)}
    return facts | ((terms(sentence) & terms(question)) - have_terms)


def attach(parts: list[str], hits: list[Hit], sentence_vecs: np.ndarray,
           passage_vecs: np.ndarray, question: str = "") -> Checked:
    """Keep the supported sentences (`parts`, from `sentences()`; `sentence_vecs` are their
    embeddings), each cited to its best passage."""
    kept, used, dropped = [], {}, []
    for i, sentence in enumerate(parts):
        if _META.search(sentence) or not hits or len(terms(sentence)) < MIN_TERMS:
            dropped.append(sentence)
            continue
        sims = passage_vecs @ sentence_vecs[i]
        best, best_support = None, 0.0
        for j, hit in enumerate(hits):
            lex = lexical(sentence, hit.chunk.text)
            support = 0.7 * lex + 0.3 * float(sims[j])
            if (support > best_support and lex >= MIN_LEXICAL
                    and not unsupported_facts(sentence, hit.chunk.text, question)):
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
