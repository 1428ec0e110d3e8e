"""Choose what the generator reads: the passage sentences closest to the question.

A 135M-parameter model copies well but does not select (OFFLINE.md): given four whole
passages it drifts to whichever sentence is nearest, or mixes subjects. Given only the
few sentences that bear on the question, each tagged with its passage number, it copies
the right one. A sentence is ranked by 0.7 * cosine(question, sentence) + 0.3 * share of
the question's terms it contains; the best `n` are kept, best first, grouped by passage
(a group stands where its best sentence ranks). On 12 seed questions, answers that survived
the citation check: 9 with this order, 8 in document order, 7 with the best sentence last
next to the question (the model tends to copy the first sentence it reads).
"""

from __future__ import annotations

import numpy as np

from .chunk import sentence_spans
from .text import terms
from .types import Hit

MIN_TERMS = 3  # headings and fragments ("Stroke 1", a lone title) are not evidence


def candidates(hits: list[Hit]) -> list[tuple[int, str]]:
    """(passage number, sentence) for every informative sentence of the passages."""
    out = []
    for n, h in enumerate(hits, 1):
        text, spans = h.chunk.text, []
        for s, e in sentence_spans(text):
            # a fragment ("Colin Hines." after a book title) belongs to the line it is on
            if spans and len(terms(text[s:e])) < MIN_TERMS and "\n" not in text[spans[-1][1]:s]:
                spans[-1] = (spans[-1][0], e)
            else:
                spans.append((s, e))
        out.extend((n, text[s:e]) for s, e in spans if len(terms(text[s:e])) >= MIN_TERMS)
    return out


def select(question: str, cands: list[tuple[int, str]], vectors: np.ndarray,
           query: np.ndarray, n: int) -> list[tuple[int, str]]:
    """The `n` candidates that best match the question, best first."""
    if not cands:
        return []
    wanted = terms(question)
    lexical = np.array([len(wanted & terms(s)) / max(1, len(wanted)) for _, s in cands])
    scores = 0.7 * (vectors @ query) + 0.3 * lexical
    chosen, seen = [], set()
    for i in np.argsort(-scores, kind="stable"):
        key = " ".join(cands[i][1].lower().split())
        if key not in seen:  # overlapping chunks repeat sentences: each is read once
            seen.add(key)
            chosen.append(cands[i])
        if len(chosen) == n:
            break
    return chosen


def render(selected: list[tuple[int, str]]) -> str:
    """One paragraph per passage, "[n] sentence sentence", in order of first appearance.
    (One line per sentence made the model echo the list back, line by line.)"""
    groups: dict[int, list[str]] = {}
    for n, sentence in selected:
        groups.setdefault(n, []).append(sentence)
    return "\n\n".join(f"[{n}] " + " ".join(sentences) for n, sentences in groups.items())
