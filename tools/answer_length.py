"""How many words a quoted answer needs: measured on fitting data the evidence ranker never saw
(squad2-fit's answerable questions).

    .venv/bin/python tools/answer_length.py

Reads the retrieval `make fit` cached under .cache/fit/ (it runs the gathering itself when
the cache is cold). For each question the evidence is chosen and put in the answer's order
(`compose.best_first`); then, for word budgets, the answer keeps its first sentence and each
following one that still fits the budget (`within`), and prints how often the answer holds a
gold answer and its median words, and what a budget applied only when the ranker is sure
would cost; then the same for the seed questions (a key in the answer). Every budget costs
answers (docs/quality.md), so the product applies none.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import fit  # noqa: E402

from rag.answering import compose, evidence  # noqa: E402
from rag.evaluation.data import beir_documents, read_jsonl  # noqa: E402
from rag.evaluation.metrics import contains_answer  # noqa: E402

BUDGETS = (None, 60, 45, 35, 30, 25, 20)
SURE = (0.7, 0.8)  # the budget of 30 words applied only when the best sentence's ranker score is at least this


def within(q, evidence: list, budget: int) -> list:
    """The first sentence, then each later one while the answer stays within `budget` words, save
    what it needs whatever its length (the sentence a pronoun points back to, the other document
    of a two-part question, a list's items)."""
    if q.lists:
        return evidence
    out, used = [], 0
    for n, s in evidence:
        size = len(s.text.split())
        if out and used + size > budget and s.role not in ("previous", "part", "list"):
            continue
        out.append((n, s))
        used += size
    return out


def measure(name: str, rows: list[dict], held_by) -> None:
    """Per budget: how often the answer holds a gold answer (`held_by(row, text)`) and its median
    words; then, for a budget of 30 applied only when the ranker is sure of the best sentence
    (`SURE`), how many answers it shortens and how many of those lose the gold answer."""
    cases = []
    for r in rows:
        if r["answerable"] and r["cands"]:
            q = fit.read_q(r)
            sel = evidence.select(q, r["cands"], r["cos"], r["idf"], r["hits"], r["tags"])
            cases.append((r, q, compose.best_first(q, [(s.passage, s) for s in sel.sentences])))
    n, n_multi = len(cases), sum(len(ordered) > 1 for *_, ordered in cases)
    print(f"{name}: {n} answerable questions, {n_multi} with more than one evidence sentence")
    for b in BUDGETS:
        held = multi = 0
        words = []
        for r, q, ordered in cases:
            text = " ".join(s.text for _, s in (ordered if b is None else within(q, ordered, b)))
            hit = held_by(r, text)
            held += hit
            multi += hit and len(ordered) > 1
            words.append(len(text.split()))
        print(f"  budget {b or 'none'}: gold in the answer {held / n:.3f} ({held}; of those with several "
              f"sentences {multi / max(n_multi, 1):.3f}), median words {statistics.median(words):.0f}")
    for sure in SURE:
        shortened = lost = 0
        for r, q, ordered in cases:
            kept = within(q, ordered, 30)
            best = max((s.score for _, s in ordered if s.role == "match"), default=0.0)
            if best >= sure and len(kept) < len(ordered):
                shortened += 1
                lost += held_by(r, " ".join(s.text for _, s in ordered)) and not held_by(
                    r, " ".join(s.text for _, s in kept))
        print(f"  budget 30 only when the best sentence scores >= {sure}: {shortened} answers shortened, "
              f"{lost} of them lose the gold answer")


def main() -> None:
    cache = ROOT / ".cache" / "fit"
    questions = read_jsonl(fit.EVAL / "squad2-fit" / "answers.jsonl")
    rows = fit.gather("squad2-fit", beir_documents(fit.EVAL / "squad2-fit" / "corpus.jsonl"), questions, cache)
    measure("squad2-fit", rows, lambda r, text: contains_answer(text, r["answers"]))
    seeds = fit.gather("seeds", [], read_jsonl(fit.EVAL / "seeds" / "questions.jsonl"), cache)
    measure("seeds (a key in the answer; summaries aside)", [r for r in seeds if r.get("kind") != "summary"],
            lambda r, text: any(k in text.lower() for k in r["keys_any"]))


if __name__ == "__main__":
    main()
