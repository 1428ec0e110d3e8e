"""What the spelling correction (rag/answering/spelling.py) moves on fitting data.

    .venv/bin/python tools/typos.py [--data ../shared/eval/squad2-fit]

Over the questions of a SQuAD-format folder (default squad2-fit, fitting data; never
squad2/answers.jsonl), with the vocabulary of its paragraphs:
- as asked: how many questions get a word corrected (answerable and unanswerable apart), with
  examples to read: a correction of a question that had no typo is a false one;
- with typos made here: in every question, one word of 5+ letters that the paragraphs hold
  gets one random edit (a letter dropped, doubled, swapped with the next or replaced); the
  share read back as the word, read as another word, or left alone.
Deterministic (fixed seed).
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.answering.spelling import Vocabulary, correct  # noqa: E402
from rag.evaluation.data import read_jsonl  # noqa: E402


def typo(word: str, rng: random.Random) -> str:
    i = rng.randrange(1, len(word) - 1)
    how = rng.choice(["drop", "double", "swap", "replace"])
    if how == "drop":
        return word[:i] + word[i + 1:]
    if how == "double":
        return word[:i] + word[i] + word[i:]
    if how == "swap":
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    return word[:i] + rng.choice([c for c in "aeiounrst" if c != word[i]]) + word[i + 1:]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "eval" / "squad2-fit")
    args = parser.parse_args()
    vocabulary = Vocabulary.of(r["text"] for r in read_jsonl(args.data / "corpus.jsonl"))
    questions = read_jsonl(args.data / "answers.jsonl")
    print(f"{len(questions)} questions, vocabulary {len(vocabulary.counts)} words")

    changed = Counter()
    examples = []
    for q in questions:
        _, fixes = correct(q["question"], vocabulary)
        if fixes:
            changed[q["answerable"]] += 1
            examples.append(fixes)
    print(f"as asked: corrected {changed[True]} answerable and {changed[False]} unanswerable questions "
          f"(of {sum(q['answerable'] for q in questions)} and {sum(not q['answerable'] for q in questions)})")
    for fixes in examples[:25]:
        print("   ", ", ".join(f"{a} -> {b}" for a, b in fixes))

    rng = random.Random(23)
    outcome = Counter()
    for q in questions:
        known = [m for m in re.finditer(r"[A-Za-z]+", q["question"])
                 if len(m.group()) >= 5 and m.group().lower() in vocabulary.counts]
        if not known:
            continue
        m = rng.choice(known)
        wrong = typo(m.group(), rng)
        if wrong.lower() in vocabulary.counts:
            outcome["the typo is itself a document word"] += 1
            continue
        _, fixes = correct(q["question"][:m.start()] + wrong + q["question"][m.end():], vocabulary)
        read = dict(fixes).get(wrong)
        outcome["read back" if read and read.lower() == m.group().lower() else
                "read as another word" if read else "left alone"] += 1
    total = sum(v for k, v in outcome.items() if k != "the typo is itself a document word")
    print(f"with one typo made per question ({total} questions):")
    for k, v in outcome.most_common():
        print(f"    {k}: {v}" + (f" ({v / total:.3f})" if k != "the typo is itself a document word" else ""))


if __name__ == "__main__":
    main()
