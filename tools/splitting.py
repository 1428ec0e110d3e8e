"""What not ending a sentence after a title or an initial (rag/text.py `sentence_spans`, version
3: "Dr. Smith", "St. Louis", "No. 5", "John F. Kennedy") moves on fitting data the evidence
ranker never saw: squad2-fit's answerable questions, their passages split the way before
(version 2, which already kept "e.g. a fee" whole) and the way now.

    .venv/bin/python tools/splitting.py

Reads the retrieval `make fit` cached under .cache/fit/ (it runs the gathering itself when
the cache is cold). For the questions whose candidate sentences differ, both sets are
embedded and ranked by the shipped ranker; it prints how many questions changed, and over
all answerable questions how often the top sentence and the evidence hold a gold answer.
First it counts, in squad2-fit's and squad1-train's paragraphs and in seeds/, the sentences
the split before ended that the split now joins to the next.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import fit  # noqa: E402

from rag import text  # noqa: E402
from rag.answering import evidence  # noqa: E402
from rag.evaluation.data import beir_documents, read_jsonl  # noqa: E402
from rag.ingest.read import load_folder  # noqa: E402
from rag.models.embed import MiniLM  # noqa: E402

BEFORE = re.compile(r"[.!?…][\"'”’)\]]*(?=[^\S\n]+[^a-z\s])|(?=\n)")  # version 2: any full stop before a space
# and a character that is not a lower-case letter ends a sentence


def split(hits, pattern) -> list:
    now, text._SENTENCE_END = text._SENTENCE_END, pattern
    try:
        return evidence.candidates(hits)
    finally:
        text._SENTENCE_END = now


def joined(docs) -> tuple[int, int]:
    """Sentences of `docs` as split before, and how many fewer the split now makes (it only joins)."""
    now = sum(len(text.sentence_spans(d.text)) for d in docs)
    was, text._SENTENCE_END = text._SENTENCE_END, BEFORE
    try:
        before = sum(len(text.sentence_spans(d.text)) for d in docs)
    finally:
        text._SENTENCE_END = was
    return before, before - now


def main() -> None:
    for name, docs in (("squad2-fit", beir_documents(fit.EVAL / "squad2-fit" / "corpus.jsonl")),
                       ("squad1-train", beir_documents(fit.EVAL / "squad1-train" / "corpus.jsonl")),
                       ("seeds", load_folder(ROOT / "seeds")[0])):
        before, now = joined(docs)
        print(f"{name}: {before} sentences as split before, {now} of them now joined to the next")
    rows = [r for r in fit.gather("squad2-fit", beir_documents(fit.EVAL / "squad2-fit" / "corpus.jsonl"),
                                  read_jsonl(fit.EVAL / "squad2-fit" / "answers.jsonl"), ROOT / ".cache" / "fit")
            if r["answerable"] and r["hits"]]
    embedder, tally, changed, vectors = MiniLM(), np.zeros((2, 2)), 0, {}

    def encode(texts: list[str]) -> np.ndarray:  # each sentence embedded once
        new = [t for t in dict.fromkeys(texts) if t not in vectors]
        vectors.update(zip(new, embedder.encode(new), strict=True) if new else ())
        return np.array([vectors[t] for t in texts])

    for r in rows:
        sets = [split(r["hits"], BEFORE), split(r["hits"], text._SENTENCE_END)]
        moved = [c.text for c in sets[0]] != [c.text for c in sets[1]]
        changed += moved
        asked = embedder.encode([r["question"]])[0] if moved else None
        for k, cands in enumerate(sets):
            if not cands:
                continue
            cos = encode([c.text for c in cands]) @ asked if moved else r["cos"]
            sel = evidence.select(fit.read_q(r), cands, cos, r["idf"], r["hits"], r["tags"])
            tally[k] += (fit.holds(r, cands[sel.best]), any(fit.holds(r, cands[i]) for i in sel.chosen))
    print(f"{len(rows)} answerable squad2-fit questions, {changed} with other candidate sentences now")
    for k, name in enumerate(("before", "now")):
        print(f"  {name}: top sentence holds the answer {tally[k][0] / len(rows):.3f}, "
              f"evidence {tally[k][1] / len(rows):.3f}")


if __name__ == "__main__":
    main()
