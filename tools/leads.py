"""How often the answer's first sentence (rag/answering/compose.py `lead`) is a gold answer,
on fitting data the evidence ranker never saw (squad2-fit's answerable questions).

    .venv/bin/python tools/leads.py

Reads the retrieval `make fit` cached under .cache/fit/ (it runs the gathering itself when
the cache is cold). For each question of a kind a lead is given for, it prints per kind: how
many get a lead, how many leads are a gold answer (the same words, or inside one, or holding
one), and how many best sentences hold a gold answer at all (what a lead can reach); and the
same for the other ways of picking among several entities (the first, the last), which is
how the nearest was chosen.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import fit  # noqa: E402

from rag.answering import compose, evidence  # noqa: E402
from rag.evaluation.data import beir_documents, read_jsonl  # noqa: E402
from rag.evaluation.metrics import contains_answer  # noqa: E402


def norm(text: str) -> str:
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", re.sub(r"[^\w\s]", " ", text.lower())).split())


def matches(lead: str, answers: list[str]) -> bool:
    a, golds = norm(lead), [norm(g) for g in answers]
    return any(a and g and (a == g or a in g or g in a) for g in golds)


def main() -> None:
    cache = ROOT / ".cache" / "fit"
    questions = read_jsonl(fit.EVAL / "squad2-fit" / "answers.jsonl")
    rows = fit.gather("squad2-fit", beir_documents(fit.EVAL / "squad2-fit" / "corpus.jsonl"), questions, cache)
    counts: dict[str, Counter] = {}
    bands: dict[str, Counter] = {}  # the nearest lead, by the ranker's score of the best sentence
    for r in rows:
        if not r["answerable"] or not r["cands"]:
            continue
        q = fit.read_q(r)
        if q.kind not in compose.LEAD_KINDS:
            continue
        sel = evidence.select(q, r["cands"], r["cos"], r["idf"], r["hits"], r["tags"])
        c = r["cands"][sel.best]
        spans = [(s - c.start, e - c.start, k) for s, e, k in r["tags"][c.passage - 1] if s >= c.start and e <= c.end]
        n = counts.setdefault(q.kind, Counter())
        n["questions"] += 1
        n["best holds an answer"] += contains_answer(c.text, r["answers"])
        ways = (("nearest", None), ("first", lambda q, s, se, w: se[0]), ("last", lambda q, s, se, w: -se[0]))
        for way, pick in ways:
            if pick is not None:
                kept, compose._distance = compose._distance, pick
            try:
                said = compose.lead(q, c.text, spans, sel.weights)
            finally:
                if pick is not None:
                    compose._distance = kept
            if way == "nearest" and said is not None:
                band = f"score {min(int(sel.ranked[sel.best] * 5), 4) / 5:.1f}+"
                bands.setdefault(band, Counter()).update(given=1, gold=matches(said, r["answers"]))
            n[f"{way}: lead given"] += said is not None
            n[f"{way}: lead is gold"] += said is not None and matches(said, r["answers"])
    total = Counter()
    for kind, n in sorted(counts.items()):
        total.update(n)
        print(f"{kind}: " + ", ".join(f"{k} {v}" for k, v in n.items()))
    print("all: " + ", ".join(f"{k} {v}" for k, v in total.items()))
    for band, n in sorted(bands.items()):
        print(f"nearest, best sentence {band}: {n['given']} leads, gold {n['gold'] / n['given']:.3f}")
    for way in ("nearest", "first", "last"):
        given = total[f"{way}: lead given"]
        print(f"{way}: a lead for {given / total['questions']:.3f} of {total['questions']} questions, "
              f"gold {total[f'{way}: lead is gold'] / max(given, 1):.3f} of those")


if __name__ == "__main__":
    main()
