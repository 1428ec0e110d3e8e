"""Decide from the chosen evidence whether the documents answer a question at all.

SmolLM2-135M never refuses by itself: asked for France's GDP it invents a figure. So the
pipeline refuses before generating when the evidence (rag/answering/evidence.py) does not
answer. Similarity alone cannot tell: a near-topic question ("When was WeRobotics founded?")
is as close to some sentence as an answerable one. So the decision also weighs what the
question asks for against what the evidence states. Features, none specific to a corpus:

- `score`: the best cosine of the question and a retrieved passage (MiniLM);
- `sentence_score`: the highest cosine of the question and an evidence sentence;
- `sentence_overlap`: the IDF-weighted word share of the best evidence sentence;
- `evidence_overlap`: the IDF-weighted share of the question's words in the evidence and its
  passages' titles;
- `names_missing`: the share of the question's names and numbers absent from the evidence's
  passages ("Law of Locality" when no sentence about it says anything);
- `type_missing`: 1 when the question asks for a number, a date or a length of time, or a
  person (who did what), and the evidence holds none;
- `negation`: 1 when the question is negated ("not", "never") and the evidence is not;
- `document_missing`: the IDF-weighted share of the question's words absent from the
  evidence's documents (as far as they were retrieved).

Two are rules, refusing whatever the confidence: a question whose names the evidence's
documents lack (`names_missing` >= 0.5), or whose kind of answer the evidence does not state
(`type_missing`). The rest is `confidence = sigmoid(w . z + b)` over standardised features,
fitted by `python tools/calibrate_abstain.py fit` on SQuAD 2.0's train.jsonl and the seed
development set only; below `Config.min_confidence` the answer is a refusal. What each
threshold refuses, and why 0.175: docs/quality.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..config import Config
from ..text import stem, stems, terms
from ..types import Hit
from .evidence import Selection
from .question import NEGATION, Question, conflicts, holds_type

# Fitted by tools/calibrate_abstain.py on standardised features (mean, std, weight each).
FEATURES = ("score", "sentence_score", "sentence_overlap", "evidence_overlap", "names_missing", "type_missing",
            "negation", "document_missing")
MEAN = (0.559, 0.631, 0.675, 0.738, 0.083, 0.058, 0.089, 0.233)
STD = (0.12, 0.129, 0.232, 0.218, 0.229, 0.233, 0.284, 0.211)
WEIGHTS = (-0.021, 0.647, 0.066, -0.057, -0.492, -0.376, -1.121, 0.051)
BIAS = -0.364

NAMES_MISSING = 0.5  # refuse when this share of the question's names is absent (see tools/calibrate_abstain.py)


@dataclass(frozen=True)
class Assessment:
    score: float  # best cosine similarity of the question and a passage
    sentence_score: float  # the highest cosine of the question and an evidence sentence
    sentence_overlap: float  # IDF-weighted share of the question's words in that sentence
    evidence_overlap: float  # the same over all the evidence and its passages' titles
    names_missing: float  # share of the question's names and numbers absent from the evidence's passages
    type_missing: float  # 1: the question asks for a number, date or person the evidence does not hold
    negation: float  # 1: the question says "not", "never", "no" ... and the evidence does not
    document_missing: float  # IDF-weighted share of the question's words absent from the evidence's documents
    missing: tuple[str, ...]  # the question's words that no retrieved passage contains (said in the refusal)
    confidence: float  # calibrated chance that the evidence answers the question
    answerable: bool


def features(q: Question, hits: list[Hit], selection: Selection) -> tuple[float, ...]:
    chosen = selection.sentences
    score = max((h.similarity for h in hits), default=0.0)
    if not chosen:
        return (score, 0.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0)
    weights = selection.weights
    total = sum(weights.values()) or 1.0
    best = next(s for s in chosen if s.role == "match")
    evidence_tokens = set().union(*map(set, stems([s.text for s in chosen] +
                                                  [hits[p - 1].title for p in {s.passage for s in chosen}])))
    best_tokens = set(stems([best.text])[0])
    sentence_overlap = sum(w for t, w in weights.items() if t in best_tokens) / total
    evidence_overlap = sum(w for t, w in weights.items() if t in evidence_tokens) / total
    # the evidence's documents, as far as they were retrieved: a name may sit a few sentences away
    docs = {hits[s.passage - 1].chunk.doc_id for s in chosen}
    about = " ".join(h.chunk.text + " " + h.title for h in hits if h.chunk.doc_id in docs).lower()
    wanted = q.names | q.numbers
    names_missing = sum(1 for n in wanted if n not in about) / len(wanted) if wanted else 0.0
    # what the question asks for must be stated by the best match or what completes it, for the
    # place the question asks about
    said = [s.text for s in chosen if s.role != "also"]
    type_missing = float(not any(holds_type(q, t) and not (q.asks and conflicts(q, t)) for t in said))
    negation = float(q.negated and not any(NEGATION.search(t) for t in said))
    document_tokens = set(stems([about])[0])
    document_missing = sum(w for t, w in weights.items() if t not in document_tokens) / total
    return (score, selection.best_cos, sentence_overlap, evidence_overlap, names_missing, type_missing, negation,
            document_missing)


def assess(q: Question, hits: list[Hit], selection: Selection, config: Config) -> Assessment:
    """Weigh the evidence chosen for `q` from the retrieved `hits`."""
    x = features(q, hits, selection)
    z = BIAS + sum(w * (v - m) / s for v, m, s, w in zip(x, MEAN, STD, WEIGHTS, strict=True))
    confidence = 1 / (1 + math.exp(-z))
    wanted = q.terms
    found = set().union(*(terms(h.chunk.text) | terms(h.title) for h in hits)) if hits else set()
    absent = wanted - found  # stems ("distribut"); the refusal names the question's own words
    missing = tuple(sorted({w for w in q.words if stem(w) in absent}))
    # a question whose names the evidence's documents lack, or whose kind of answer (a number, a
    # date, a person) the evidence does not state, is about something the documents do not say
    answerable = (bool(selection.sentences) and len(absent) < len(wanted) and x[4] < NAMES_MISSING
                  and not x[5] and confidence >= config.min_confidence)
    return Assessment(*x, missing, confidence, answerable)


def refusal(assessment: Assessment | None) -> str:
    """The plain-words text of an abstention; `None` when the answer failed the check."""
    if assessment is not None and assessment.type_missing and assessment.sentence_score >= 0.3:
        return ("I can't answer that from the documents: the passages I found are about it, but none "
                "states what you asked for, so I won't guess.")
    if assessment is not None and assessment.missing and assessment.evidence_overlap < 0.5:
        about = ", ".join(assessment.missing[:4])
        return (f"I can't answer that from the documents: none of the passages I found "
                f"mention {about}, so I won't guess.")
    return ("I can't answer that from the documents: the closest passages I found do not "
            "hold the answer, so I won't guess.")
