"""The measurements behind rag/answering/evidence.py's choices, on development data only.

    .venv/bin/python tools/tune_evidence.py [N]

evidence_recall (the share of answerable questions whose gold answer, or key for the seed
set, lies in the chosen evidence) and sentences per question, on N answerable questions of
SQuAD 2.0 train.jsonl (default 400, shuffled with seed 1) and the 28 answerable seed
development questions, for:
- the runner-up rule: the product's (same document, or RUNNER_UP of the best), and always taken;
- the "why" bonus: 0 and WHY_BONUS, on the "why" questions of both sets.
It patches the module's constants in turn and calls the product's own Pipeline.evidence.
"""

import random
import sys
from pathlib import Path

from rag.answering import evidence
from rag.config import Config
from rag.evaluation.data import beir_documents, cached_config, read_jsonl
from rag.evaluation.metrics import contains_answer
from rag.pipeline import Pipeline

EVAL = Path(__file__).resolve().parents[1] / "../shared/eval"


def recall(pipe: Pipeline, rows: list[dict], holds) -> tuple[float, float]:
    hit = sentences = 0
    for r in rows:
        chosen = pipe.evidence(pipe.read(r["question"])).selection.sentences
        hit += holds(r, " ".join(s.text for s in chosen))
        sentences += len(chosen)
    return hit / len(rows), sentences / len(rows)


def main(n: int) -> None:
    squad = EVAL / "squad2"
    sq = Pipeline(cached_config(Config(), squad / "corpus.jsonl"), log=lambda *_: None,
                  documents=beir_documents(squad / "corpus.jsonl"))
    sd = Pipeline(Config(), log=lambda *_: None)
    train = [r for r in read_jsonl(squad / "train.jsonl") if r["answerable"]]
    random.Random(1).shuffle(train)
    seeds = [r for r in read_jsonl(EVAL / "seeds" / "questions.jsonl") if r["answerable"]]

    def gold(r, said):
        return contains_answer(said, r["answers"])

    def key(r, said):
        return any(k in said.lower() for k in r["keys_any"])

    product = evidence.RUNNER_UP
    print("runner-up            | SQuAD train recall, sentences | seeds recall, sentences")
    for name, value in ((f"product ({product})", product), ("always", float("-inf"))):
        evidence.RUNNER_UP = value
        a, b = recall(sq, train[:n], gold), recall(sd, seeds, key)
        print(f"{name:20} | {a[0]:.3f}, {a[1]:.2f} | {round(b[0] * len(seeds))}/{len(seeds)}, {b[1]:.2f}")
    evidence.RUNNER_UP = product
    why_train = [r for r in train if r["question"].lower().startswith("why")]
    why_seeds = [r for r in seeds if r["kind"] == "why"]
    bonus = evidence.WHY_BONUS
    for value in (0.0, bonus):
        evidence.WHY_BONUS = value
        a, b = recall(sq, why_train, gold), recall(sd, why_seeds, key)
        print(f"why bonus {value}: SQuAD train {round(a[0] * len(why_train))}/{len(why_train)}, "
              f"seeds {round(b[0] * len(why_seeds))}/{len(why_seeds)}")
    evidence.WHY_BONUS = bonus


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 400)
