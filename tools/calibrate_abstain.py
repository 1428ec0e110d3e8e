"""Fit and check the abstention model of rag/answering/abstain.py, on training data only.

    .venv/bin/python tools/calibrate_abstain.py fit      # fit, print the constants and the curves
    .venv/bin/python tools/calibrate_abstain.py seeds    # the decision for each seed question

`fit` fits on exactly two sources, and says so when it runs:
- ../shared/eval/squad2/train.jsonl: 2,725 SQuAD 2.0 questions from 8 articles (never
  answers.jsonl, never the other 8 articles' questions), over the index of all 646 paragraphs;
- ../shared/eval/seeds/questions.jsonl: the 40 development questions on the seed corpus,
  weighted so that together they count as a fifth of the SQuAD questions.
A question is a positive when it is answerable and its chosen evidence holds a gold answer
(SQuAD) or a key (seeds): what we want to know is whether the evidence answers, not whether
some passage somewhere might. The fit is scikit-learn's L2 logistic regression over the
standardised features of rag/answering/abstain.py; the tool prints its 5-fold ROC AUC, the constants to
paste into rag/answering/abstain.py, and for each threshold the share of each kind of question refused.
"""

import json
import sys
from pathlib import Path

import numpy as np

from rag.answering import abstain
from rag.config import Config
from rag.evaluation.data import beir_documents, cached_config, read_jsonl
from rag.evaluation.metrics import contains_answer
from rag.pipeline import Pipeline
from rag.text import terms

EVAL = Path(__file__).resolve().parents[1] / "../shared/eval"
SEED_SHARE = 0.2  # the seed questions together weigh this share of the SQuAD questions


def quiet(*_):
    pass


def rows_of(pipe: Pipeline, questions: list[dict], holds) -> list[dict]:
    out = []
    for q in questions:
        found = pipe.evidence(pipe.read(q["question"]))
        said = " ".join(s.text for s in found.selection.sentences)
        a = found.assessment
        out.append({"x": [getattr(a, f) for f in abstain.FEATURES], "answerable": q["answerable"],
                    "y": float(q["answerable"] and holds(q, said)), "kind": q.get("kind", "squad"),
                    "question": q["question"]})
    return out


def fit(x: np.ndarray, y: np.ndarray, w8: np.ndarray, l2: float = 1.0):
    """Weighted logistic regression with an L2 penalty `l2` on the weights (not the bias)."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1 / l2, max_iter=10_000).fit(x, y, sample_weight=w8)
    return model.coef_[0], float(model.intercept_[0])


def auc(scores: np.ndarray, y: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, scores)) if 0 < y.sum() < len(y) else float("nan")


def features() -> tuple[list[dict], list[dict]]:
    print("fitting on ../shared/eval/squad2/train.jsonl (8 training articles) and the seed development set; "
          "answers.jsonl is not read", file=sys.stderr)
    squad = EVAL / "squad2"
    pipe = Pipeline(cached_config(Config(), squad / "corpus.jsonl"), log=quiet,
                    documents=beir_documents(squad / "corpus.jsonl"))
    train = rows_of(pipe, read_jsonl(squad / "train.jsonl"), lambda q, said: contains_answer(said, q["answers"]))
    seeds = rows_of(Pipeline(Config(), log=quiet), read_jsonl(EVAL / "seeds" / "questions.jsonl"),
                    lambda q, said: any(k in said.lower() for k in q["keys_any"]))
    return train, seeds


def main_fit() -> None:
    train, seeds = features()
    rows = train + seeds
    x = np.array([r["x"] for r in rows], float)
    y = np.array([r["y"] for r in rows])
    w8 = np.array([1.0] * len(train) + [SEED_SHARE * len(train) / len(seeds)] * len(seeds))
    mean, std = x.mean(0), x.std(0) + 1e-9
    xs = (x - mean) / std
    folds, scores = np.array_split(np.random.default_rng(0).permutation(len(y)), 5), np.zeros(len(y))
    for f in folds:
        rest = np.setdiff1d(np.arange(len(y)), f)
        w, b = fit(xs[rest], y[rest], w8[rest])
        scores[f] = xs[f] @ w + b
    n = len(train)
    print(f"{n} SQuAD train + {len(seeds)} seed questions; positives {int(y[:n].sum())} + {int(y[n:].sum())}; "
          f"5-fold ROC AUC: SQuAD {auc(scores[:n], y[:n]):.3f}, seeds {auc(scores[n:], y[n:]):.3f}")
    w, b = fit(xs, y, w8)
    print(f"FEATURES = {abstain.FEATURES}\nMEAN = {tuple(np.round(mean, 3).tolist())}\n"
          f"STD = {tuple(np.round(std, 3).tolist())}\nWEIGHTS = {tuple(np.round(w, 3).tolist())}\nBIAS = {round(b, 3)}")
    conf = 1 / (1 + np.exp(-(xs @ w + b)))
    ans = np.array([r["answerable"] for r in rows])
    kinds = np.array([r["kind"] for r in rows])
    sq, sd = np.arange(len(rows)) < n, np.arange(len(rows)) >= n
    f = list(abstain.FEATURES)
    rules = (x[:, f.index("names_missing")] >= abstain.NAMES_MISSING) | (x[:, f.index("type_missing")] > 0)
    print(f"refused by the rules (names missing, kind of answer missing): SQuAD answerable with the answer in "
          f"the evidence {np.mean(rules[sq & (y == 1)]):.3f}, "
          f"answerable without {np.mean(rules[sq & ans & (y == 0)]):.3f}, "
          f"unanswerable {np.mean(rules[sq & ~ans]):.3f}; seeds answerable {int(rules[sd & ans].sum())}/28, "
          f"near-topic {int(rules[kinds == 'near-topic'].sum())}/8")
    print("min_confidence | SQuAD train: answerable refused, unanswerable refused, accuracy of a quote | "
          "seeds: answerable refused, near-topic refused, off-topic refused")
    labelled(w, b, mean, std)
    for t in np.arange(0.1, 0.71, 0.025):
        refused = rules | (conf < t)
        right = np.where(ans, ~refused & (y == 1), refused)
        print(f"{t:14.3f} | {np.mean(refused[sq & ans]):.3f} {np.mean(refused[sq & ~ans]):.3f} "
              f"{np.mean(right[sq]):.3f} | {int(refused[sd & ans].sum())}/{int((sd & ans).sum())} "
              f"{int(refused[kinds == 'near-topic'].sum())}/8 {int(refused[kinds == 'off-topic'].sum())}/4")


def labelled(w, b, mean, std) -> None:
    """The 24 on-/off-topic seed questions of tools/abstain_questions.jsonl (development data,
    not fitted on): their confidence under the new constants, for choosing the threshold."""
    pipe = Pipeline(Config(), log=quiet)
    print("tools/abstain_questions.jsonl (not fitted on): confidence, ! = refused by a rule")
    for line in open(Path(__file__).with_name("abstain_questions.jsonl"), encoding="utf-8"):
        row = json.loads(line)
        a = pipe.evidence(pipe.read(row["q"])).assessment
        x = (np.array([getattr(a, f) for f in abstain.FEATURES]) - mean) / std
        conf = 1 / (1 + np.exp(-(x @ w + b)))
        rule = a.names_missing >= abstain.NAMES_MISSING or a.type_missing or len(a.missing) >= len(terms(row["q"]))
        print(f"  {'on ' if row['on_topic'] else 'off'} {conf:.3f}{'!' if rule else ' '} {row['q']}")


def main_seeds() -> None:
    pipe = Pipeline(Config(), log=quiet)
    for q in read_jsonl(EVAL / "seeds" / "questions.jsonl"):
        a = pipe.evidence(pipe.read(q["question"])).assessment
        print(f"{q['kind']:10} {'answer' if a.answerable else 'refuse'} {a.confidence:.3f} "
              + " ".join(f"{f}={getattr(a, f):.2f}" for f in abstain.FEATURES) + f"  {q['question']}")


if __name__ == "__main__":
    {"fit": main_fit, "seeds": main_seeds}[sys.argv[1] if len(sys.argv) > 1 else "fit"]()
