"""Decide from the evidence whether the documents can answer a question at all.

SmolLM2-135M never refuses by itself: asked for France's GDP it invents a figure. So the
pipeline refuses before generating when the retrieved passages are not evidence:

- `score`: the best cosine similarity between the question and a passage (MiniLM).
- `coverage`: the share of the question's content terms that occur in the passages.
  Off-topic questions ask about things (France, 2019, FIFA) that no passage names.

Calibration: 12 on-topic and 12 off-topic questions written for it (not the test
questions), in tools/abstain_questions.jsonl; `python tools/calibrate_abstain.py` prints:

    on-topic  (12): best score 0.23-0.72, coverage 0.50-1.00
    off-topic (12): best score 0.03-0.24, coverage 0.00-0.50

(passages from hybrid retrieval, rag/retrieve.py). The scores alone overlap ("Which book
did Michael Shuman write?" scores 0.234, "What is the population of Tokyo?" 0.236):
MiniLM finds a book list or a population figure similar to any such question. Coverage
separates most of the rest: the one off-topic question that reaches 0.5 ("What is the
capital of Australia?": BM25 finds "capital" in a passage) scores 0.17. So a question is
answered when coverage >= 0.5 and score >= 0.20, or when score >= 0.55 (a paraphrase can
share few words and still be on topic). 24/24 right, with thin margins: issue 5
recalibrates on SQuAD 2.0 with far more questions.
The check after generation (rag/cite.py) refuses too when no sentence is supported.
"""

from __future__ import annotations

from dataclasses import dataclass

from .config import Config
from .text import terms
from .types import Hit

CONFIDENT_SCORE = 0.55  # above this the passages are on topic whatever the wording


@dataclass(frozen=True)
class Evidence:
    score: float  # best retrieval score
    coverage: float  # share of question terms found in the passages
    missing: tuple[str, ...]  # question terms no passage contains
    answerable: bool


def assess(question: str, hits: list[Hit], config: Config) -> Evidence:
    wanted = terms(question)
    found = set().union(*(terms(h.chunk.text) | terms(h.title) for h in hits)) if hits else set()
    missing = tuple(sorted(wanted - found))
    coverage = 1 - len(missing) / len(wanted) if wanted else 0.0
    score = max((h.similarity for h in hits), default=0.0)
    answerable = score >= CONFIDENT_SCORE or (score >= config.min_score and coverage >= config.min_coverage)
    return Evidence(score, coverage, missing, answerable)


def refusal(evidence: Evidence | None) -> str:
    """The plain-words text of an abstention; `None` when the answer failed the check."""
    if evidence is not None and evidence.missing and evidence.coverage < 0.5:
        about = ", ".join(evidence.missing[:4])
        return (f"I can't answer that from the documents: none of the passages I found "
                f"mention {about}, so I won't guess.")
    return ("I can't answer that from the documents: the closest passages I found do not "
            "hold the answer, so I won't guess.")
