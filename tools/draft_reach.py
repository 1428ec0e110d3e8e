"""How far prompt-lookup guesses should reach: the figures behind `REACH` in rag/models/generate.py.

    python tools/draft_reach.py [--data ../shared/eval/seeds]

Answers the development questions once, keeping each answer's prompt and written tokens, then
replays every answer's decoding under each reach (guesses made after a match of 3, 2 and 1
prompt tokens): the passes it takes (a lone answer's time) and the positions it computes (a
batch's work). The replay takes each answer's text as written, which the guesses do not change
in fp32 (in bf16 another schedule could move a near-tie).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import rag
from rag.models import batching
from rag.models.generate import REACH, draft, lookup_table

VARIANTS = {"8 after 3 or 2 (before)": ((3, 8), (2, 8)), "8/2/1 (REACH)": REACH, "8/2/0": ((3, 8), (2, 2)),
            "8/4/1": ((3, 8), (2, 4), (1, 1)), "8/2/2": ((3, 8), (2, 2), (1, 2)), "8/8/1": ((3, 8), (2, 8), (1, 1))}


def written(questions: list[str]) -> list[tuple[list[int], list[int]]]:
    """(prompt tokens, written tokens) of every answer the pipeline writes for `questions`."""
    rows, leave = [], batching.Batcher._leave

    def keep(self):
        rows.extend((r.prompt, list(r.new)) for r in self.rows if r.done)
        return leave(self)

    batching.Batcher._leave = keep
    try:
        for q in questions:
            rag.answer(q)
    finally:
        batching.Batcher._leave = leave
    return rows


def replay(rows, reach) -> tuple[int, int]:
    """(passes, positions computed) to write `rows` with guesses as far as `reach` allows."""
    passes = positions = 0
    for prompt, new in rows:
        table, done = lookup_table(prompt, k=8), 1  # the first token comes with the prompt
        while done <= len(new):  # the last pass writes the end of the answer
            guesses = draft(table, prompt + new[:done], 8, reach)
            held = 0
            while held < len(guesses) and done + held < len(new) and guesses[held] == new[done + held]:
                held += 1
            passes, positions, done = passes + 1, positions + 1 + len(guesses), done + 1 + held
    return passes, positions


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "eval" / "seeds")
    args = ap.parse_args()
    questions = [json.loads(line)["question"] for line in (args.data / "questions.jsonl").open()]
    rows = written(questions)
    print(f"{len(rows)} written answers")
    base = replay(rows, VARIANTS["8 after 3 or 2 (before)"])
    for name, reach in VARIANTS.items():
        passes, positions = replay(rows, reach)
        print(f"{name:26} passes {passes} ({passes / base[0] - 1:+.1%}), positions {positions} "
              f"({positions / base[1] - 1:+.1%})")


if __name__ == "__main__":
    main()
