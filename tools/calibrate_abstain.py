"""Calibrate and check the abstention model of rag/abstain.py.

    .venv/bin/python tools/calibrate_abstain.py squad [N]   # fit on SQuAD 2.0, print the curve
    .venv/bin/python tools/calibrate_abstain.py seeds       # check the labelled seed questions

`squad` computes the evidence features of N questions (default 2,000, half unanswerable)
drawn from ../shared/eval/squad2/answers_all.jsonl minus the 400 test questions of
answers.jsonl, fits a logistic regression on them (numpy, L2), prints the constants to
paste into rag/abstain.py, its 5-fold cross-validated ROC AUC, and the trade-off curve:
for each threshold on the confidence, the share of answerable questions refused
(false refusals) and of unanswerable ones refused. `seeds` prints the decision for the
24 on-/off-topic questions about the seed corpus in tools/abstain_questions.jsonl.
"""

import json
import random
import sys
from pathlib import Path

import numpy as np

from rag import abstain
from rag.config import Config
from rag.evaluate import _cached_config, beir_documents, read_jsonl
from rag.pipeline import Pipeline

SQUAD = Path(__file__).resolve().parents[1] / "../shared/eval/squad2"


def evidence(pipe: Pipeline, question: str) -> abstain.Evidence:
    return pipe.evidence(question).evidence


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1.0, steps: int = 3000) -> tuple[np.ndarray, float]:
    w, b = np.zeros(x.shape[1]), 0.0
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        w -= 0.5 * (x.T @ (p - y) + l2 * w) / len(y)
        b -= 0.5 * float(np.mean(p - y))
    return w, b


def squad(n: int) -> None:
    test = {r["id"] for r in read_jsonl(SQUAD / "answers.jsonl")}
    rows = [r for r in read_jsonl(SQUAD / "answers_all.jsonl") if r["id"] not in test]
    random.Random(0).shuffle(rows)
    rows = [r for r in rows if r["answerable"]][: n // 2] + [r for r in rows if not r["answerable"]][: n // 2]
    config = _cached_config(Config(), SQUAD / "corpus.jsonl")
    pipe = Pipeline(config, log=lambda *_: None, documents=beir_documents(SQUAD / "corpus.jsonl"))
    evs = [evidence(pipe, r["question"]) for r in rows]
    x = np.array([[getattr(e, f) for f in abstain.FEATURES] for e in evs])
    y = np.array([r["answerable"] for r in rows], float)
    mean, std = x.mean(0), x.std(0)
    xs = (x - mean) / std
    folds, scores = np.array_split(np.random.default_rng(0).permutation(len(y)), 5), np.zeros(len(y))
    for f in folds:
        train = np.setdiff1d(np.arange(len(y)), f)
        w, b = fit(xs[train], y[train])
        scores[f] = xs[f] @ w + b
    pos, neg = scores[y == 1], scores[y == 0]
    print(f"{len(y)} questions; 5-fold ROC AUC {np.mean(pos[:, None] > neg[None]):.3f}")
    w, b = fit(xs, y)
    print(f"MEAN = {tuple(np.round(mean, 3).tolist())}\nSTD = {tuple(np.round(std, 3).tolist())}\n"
          f"WEIGHTS = {tuple(np.round(w, 3).tolist())}\nBIAS = {round(b, 3)}")
    conf = 1 / (1 + np.exp(-(xs @ w + b)))
    print("min_confidence  false_refusal  unanswerable_refused")
    for t in np.arange(0.30, 0.71, 0.025):
        print(f"{t:14.3f}  {np.mean(conf[y == 1] < t):13.3f}  {np.mean(conf[y == 0] < t):20.3f}")


def seeds() -> None:
    rows = [json.loads(line) for line in open(Path(__file__).with_name("abstain_questions.jsonl"))]
    pipe = Pipeline(log=lambda *_: None)
    right = 0
    for row in rows:
        ev = evidence(pipe, row["q"])
        right += ev.answerable == row["on_topic"]
        print(f"{'on ' if row['on_topic'] else 'off'}  confidence {ev.confidence:.3f}  score {ev.score:.3f}  "
              f"coverage {ev.coverage:.2f}  {'answer' if ev.answerable else 'refuse'}  {row['q']}")
    print(f"decided right {right}/{len(rows)}")


if __name__ == "__main__":
    squad(int(sys.argv[2]) if len(sys.argv) > 2 else 2000) if sys.argv[1:2] == ["squad"] else seeds()
