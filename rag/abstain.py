"""Decide from the evidence whether the documents can answer a question at all.

SmolLM2-135M never refuses by itself: asked for France's GDP it invents a figure. So the
pipeline refuses before generating when the retrieved passages are not evidence. Four
measures, all cheap and none specific to a corpus:

- `score`: the best cosine similarity between the question and a passage (MiniLM);
- `coverage`: the share of the question's content terms found in the passages;
- `sentence_score`, `sentence_coverage`: the same for the single passage sentence that
  best matches the question (the one an answer would come from).

They are combined by a logistic model, `confidence = sigmoid(w . z + b)` over standardised
features, fitted on SQuAD 2.0 questions that are not in the test sample: 2,000 questions of
answers_all.jsonl minus the 400 of answers.jsonl, half unanswerable
(`python tools/calibrate_abstain.py squad` prints the fit and this curve; 5-fold ROC AUC 0.646):

    min_confidence        0.30  0.35  0.40  0.425  0.45  0.50  0.55  0.60
    answerable refused    0.05  0.09  0.15  0.19   0.24  0.36  0.49  0.67
    unanswerable refused  0.12  0.20  0.31  0.39   0.44  0.58  0.72  0.83

A question is answered when confidence >= `Config.min_confidence` and a passage holds at
least one of its terms; the check after generation (rag/cite.py) refuses too when no
sentence survives. The curve is flat because SQuAD 2.0's unanswerable questions were written
against the very paragraph that is retrieved: retrieval evidence cannot tell them apart well.

Two operating points. On SQuAD 2.0, 0.425 keeps pre-generation false refusals near 1 in 5
(`python -m rag eval qa --min-confidence 0.425`, README). The product's default is 0.25:
the seed corpus is web pages, whose long chunks score lower cosines than Wikipedia
paragraphs written to answer questions, and at 0.425 "What is SoULS?" (0.395) and "Who are
the primary beneficiaries of SoULS?" (0.271) were refused. On the 24 labelled seed
questions (tools/abstain_questions.jsonl, `calibrate_abstain.py seeds`) off-topic ones
score <= 0.18 and on-topic ones >= 0.26, so 0.25 decides all 24 right; off-topic questions
share few terms with any passage and stay refused.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .config import Config
from .text import terms
from .types import Hit

# Fitted by tools/calibrate_abstain.py on standardised features (mean, std, weight each).
FEATURES = ("score", "coverage", "sentence_score", "sentence_coverage")
MEAN = (0.564, 0.811, 0.651, 0.59)
STD = (0.122, 0.183, 0.121, 0.262)
WEIGHTS = (0.293, -0.038, 0.227, 0.167)
BIAS = -0.005


@dataclass(frozen=True)
class Evidence:
    score: float  # best cosine similarity of the question and a passage
    coverage: float  # share of question terms found in the passages
    sentence_score: float  # best cosine similarity of the question and a passage sentence
    sentence_coverage: float  # share of question terms in that sentence (or its passage title)
    missing: tuple[str, ...]  # question terms no passage contains
    confidence: float  # calibrated chance that the passages hold the answer
    answerable: bool


def assess(question: str, hits: list[Hit], config: Config, sentences: list[tuple[int, str]] = (),
           sentence_cos: np.ndarray | None = None) -> Evidence:
    """Weigh the retrieved `hits` and their candidate `sentences` ((passage number, text),
    from rag/context.py, with their cosine similarities to the question)."""
    wanted = terms(question)
    found = set().union(*(terms(h.chunk.text) | terms(h.title) for h in hits)) if hits else set()
    missing = tuple(sorted(wanted - found))
    coverage = 1 - len(missing) / len(wanted) if wanted else 0.0
    score = max((h.similarity for h in hits), default=0.0)
    sentence_score = sentence_coverage = 0.0
    if len(sentences) and sentence_cos is not None:
        best = int(np.argmax(sentence_cos))
        sentence_score = float(sentence_cos[best])
        n, text = sentences[best]
        have = terms(text) | terms(hits[n - 1].title)
        sentence_coverage = len(wanted & have) / len(wanted) if wanted else 0.0
    x = (score, coverage, sentence_score, sentence_coverage)
    z = BIAS + sum(w * (v - m) / s for v, m, s, w in zip(x, MEAN, STD, WEIGHTS, strict=True))
    confidence = 1 / (1 + math.exp(-z))
    # a question none of whose terms any passage contains is about something else, whatever the score
    answerable = coverage > 0 and confidence >= config.min_confidence
    return Evidence(score, coverage, sentence_score, sentence_coverage, missing, confidence, answerable)


def refusal(evidence: Evidence | None) -> str:
    """The plain-words text of an abstention; `None` when the answer failed the check."""
    if evidence is not None and evidence.missing and evidence.coverage < 0.5:
        about = ", ".join(evidence.missing[:4])
        return (f"I can't answer that from the documents: none of the passages I found "
                f"mention {about}, so I won't guess.")
    return ("I can't answer that from the documents: the closest passages I found do not "
            "hold the answer, so I won't guess.")
