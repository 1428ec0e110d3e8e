"""What to lead with when the best evidence sentence only restates the question: measured on
fitting data the evidence ranker never saw (squad2-fit's answerable questions).

    .venv/bin/python tools/restating.py

Reads the retrieval `make fit` cached under .cache/fit/ (it runs the gathering itself when
the cache is cold). For each question, the words the best sentence adds to the question
(`quote.new_words`), bucketed; per bucket, how often a gold answer stands in the best sentence,
in the sentence after it, and in the best-ranked evidence sentence that adds more than the
bucket's words: the figures behind `compose.RESTATES`.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import fit  # noqa: E402

from rag.answering import evidence, quote  # noqa: E402
from rag.evaluation.data import beir_documents, read_jsonl  # noqa: E402
from rag.evaluation.metrics import contains_answer  # noqa: E402


def main() -> None:
    cache = ROOT / ".cache" / "fit"
    questions = read_jsonl(fit.EVAL / "squad2-fit" / "answers.jsonl")
    rows = fit.gather("squad2-fit", beir_documents(fit.EVAL / "squad2-fit" / "corpus.jsonl"), questions, cache)
    buckets: dict[int, Counter] = {}
    for r in rows:
        if not r["answerable"] or not r["cands"]:
            continue
        q = fit.read_q(r)
        sel = evidence.select(q, r["cands"], r["cos"], r["idf"], r["hits"], r["tags"])
        cands = r["cands"]
        best = cands[sel.best]
        added = len(quote.new_words(best.text, q))
        n = buckets.setdefault(min(added, 5), Counter())
        n["questions"] += 1
        n["best holds gold"] += contains_answer(best.text, r["answers"])
        after = next((c for c in cands if c.passage == best.passage and c.index == best.index + 1), None)
        n["has a next sentence"] += after is not None
        n["next holds gold"] += after is not None and contains_answer(after.text, r["answers"])
        richer = [i for i in sel.chosen if i != sel.best and len(quote.new_words(cands[i].text, q)) > added]
        if richer:
            pick = cands[max(richer, key=lambda i: sel.ranked[i])]
            n["evidence has a richer sentence"] += 1
            n["richer holds gold"] += contains_answer(pick.text, r["answers"])
            n["best holds gold, where richer exists"] += contains_answer(best.text, r["answers"])
    for added, n in sorted(buckets.items()):
        richer = n["evidence has a richer sentence"]
        print(f"best adds {added}{'+' if added == 5 else ''} words: {n['questions']} questions; gold in best "
              f"{share(n, 'best holds gold', 'questions')}; a next sentence {n['has a next sentence']}, gold in it "
              f"{share(n, 'next holds gold', 'has a next sentence')}; a richer evidence sentence {richer}, gold in "
              f"it {share(n, 'richer holds gold', 'evidence has a richer sentence')} (in best "
              f"{share(n, 'best holds gold, where richer exists', 'evidence has a richer sentence')})")


def share(n: Counter, hits: str, of: str) -> str:
    return f"{n[hits] / max(n[of], 1):.3f}"

if __name__ == "__main__":
    main()
