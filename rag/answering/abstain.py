"""Decide from the chosen evidence whether the documents answer a question at all.

SmolLM2-135M never refuses by itself: asked for France's GDP it invents a figure. So the
pipeline refuses before generating when the evidence (rag/answering/evidence.py) does not
answer. Similarity alone cannot tell: a near-topic question ("When was the ferry company
founded?") is as close to some sentence as an answerable one. So the decision is made by the
refusal model (rag/answering/learned.py), fitted by `make fit` on SQuAD 2.0's unanswerable
and answerable fitting questions and the seed development set. It reads how sure the
evidence ranker is and what the question names or asks for that the evidence lacks
(rag/answering/features.py `QUESTION_FEATURES`): a name or number of the question absent
from the evidence's documents, the kind of answer asked for (a person, a date, an amount)
absent from the evidence, a negated question, question words the best sentence lacks.
Below the threshold chosen on fitting data (`Config.min_confidence` overrides it), or when
one of the rules `make fit` kept beside the model holds (its file's `refuse_when`: the kind of
answer asked for is absent from the evidence, half the question's names are absent from its
documents), the answer is a refusal, which says in plain words what was missing.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import Config
from ..text import stem, terms
from ..types import Hit
from . import learned
from .evidence import Selection
from .features import QUESTION_FEATURES, question_row
from .question import Question


@dataclass(frozen=True)
class Assessment:
    features: dict[str, float]  # QUESTION_FEATURES by name, as the refusal model read them
    missing: tuple[str, ...]  # the question's words that no retrieved passage contains (said in the refusal)
    confidence: float  # the refusal model's chance that the evidence answers the question
    answerable: bool

    @property
    def type_missing(self) -> bool:
        """The evidence states no answer of the kind asked for (a number, a date, a person)."""
        return self.features["type_missing"] > 0 or self.features["kind_missing"] > 0

    @property
    def sentence_score(self) -> float:
        return self.features["sentence_score"]

    @property
    def evidence_overlap(self) -> float:
        return self.features["evidence_overlap"]


def assess(q: Question, hits: list[Hit], selection: Selection, config: Config,
           model: learned.Trees | None = None) -> Assessment:
    """Weigh the evidence chosen for `q` from the retrieved `hits`."""
    model = model or learned.refusal()
    x = question_row(q, hits, selection)
    confidence = float(model.predict([x])[0]) if selection.sentences else 0.0
    threshold = model.settings["min_confidence"] if config.min_confidence is None else config.min_confidence
    wanted = q.terms
    found = set().union(*(terms(h.chunk.text) | terms(h.title) for h in hits)) if hits else set()
    absent = wanted - found  # stems ("distribut"); the refusal names the question's own words
    missing = tuple(sorted({w for w in q.words if stem(w) in absent}))
    named = dict(zip(QUESTION_FEATURES, map(float, x), strict=True))
    # the rules `make fit` kept beside the model: what the question asks for is not in the evidence
    vetoed = any(named[f] >= at_least for f, at_least in model.settings.get("refuse_when", ()))
    answerable = (bool(selection.sentences) and len(absent) < len(wanted) and confidence >= threshold
                  and not vetoed)
    return Assessment(named, missing, confidence, answerable)


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
