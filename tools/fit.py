"""`make fit`: fit the evidence ranker and the refusal model on fitting data only, and write
rag/answering/fitted/ranker.json and refusal.json.

    .venv/bin/python tools/fit.py [--articles N]

What it reads (never ../shared/eval/squad2/answers.jsonl, never the questions of the 8
articles of squad2/ that train.jsonl leaves out):
- ranker: ../shared/eval/squad1-train, the questions of N of its 442 articles (default 60,
  drawn with a fixed seed) over an index of those articles' paragraphs; a candidate sentence
  is a positive when it is in the question's paragraph and holds a gold answer; and the seed
  development questions (a positive: in a gold document, holding a key), weighted to count as
  `RANKER_SEED_SHARE` of the SQuAD positives;
- refusal: ../shared/eval/squad2-fit (5,795 questions, 2,777 unanswerable) over its 558
  paragraphs, ../shared/eval/squad2/train.jsonl (2,725) over its 8 articles' paragraphs only,
  and the 80 seed development questions over seeds/ (follow-ups asked after their history),
  weighted to count as `SEED_SHARE` of the SQuAD questions. A question is a positive when it is
  answerable and its evidence holds a gold answer (a key, for the seeds) in the paragraph
  (a gold document) it leads with.
Every figure it prints is cross-validated by article (GroupKFold): no article is both fitted
and scored; the seeds are spread over the folds. The evidence settings (when a neighbour, the runner-up
or another document's sentence joins the best one) and the refusal threshold are chosen on
those out-of-fold predictions; the threshold, and which of `RULE_SETS` refuses beside the
model, are those where SQuAD's accuracy and the seeds' (the documents this product is for)
add up to the most (of those within `TIE` of it, the one refusing the fewest answerable seed
questions, then the one best on SQuAD). The slow part
(retrieval, embeddings, entity tags) is cached under .cache/fit/ by content hash; LightGBM
runs deterministically, so a second run writes the same files.
"""

from __future__ import annotations

import argparse
import hashlib
import pickle
import random
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.answering import evidence, features, learned, question  # noqa: E402
from rag.config import Config  # noqa: E402
from rag.evaluation.data import beir_documents, read_jsonl  # noqa: E402
from rag.evaluation.metrics import contains_answer  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402

EVAL = ROOT.parent / "shared" / "eval"
GATHER_VERSION = 4  # bump when what is gathered per question changes (2: questions read with spelling and follow-ups;
# 3: no sentence ends before a lower-case word; 4: nor after a title or an initial)
SEED = 23
SEED_SHARE = 0.2  # the seed questions together weigh this share of the SQuAD refusal questions
RANKER_SEED_SHARE = 0.1  # the seeds' answer sentences together weigh this share of SQuAD's
TIE = 0.01  # refusal settings whose summed accuracy is this close to the best count as tied
COST = 0.05  # an evidence sentence beyond the first must buy this much evidence recall
RANKER = dict(objective="binary", learning_rate=0.05, num_leaves=31, min_data_in_leaf=50, feature_fraction=0.9,
              lambda_l2=1.0, deterministic=True, force_row_wise=True, num_threads=2, seed=SEED, verbose=-1)
REFUSAL = dict(objective="binary", learning_rate=0.03, num_leaves=15, min_data_in_leaf=40, feature_fraction=0.9,
               lambda_l2=1.0, deterministic=True, force_row_wise=True, num_threads=2, seed=SEED, verbose=-1)
RANKER_TREES, REFUSAL_TREES, FOLDS = 250, 300, 5
# rules tried beside the refusal model: refuse whatever its confidence when a feature reaches a value
# (the kind of answer asked for absent from the evidence; half the question's names absent)
RULE_SETS = ((), (("type_missing", 1.0),), (("type_missing", 1.0), ("kind_missing", 1.0)),
             (("type_missing", 1.0), ("names_missing", 0.5)),
             (("type_missing", 1.0), ("kind_missing", 1.0), ("names_missing", 0.5)))


def say(*args) -> None:
    print(*args, flush=True)


def digest(*parts) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else str(p).encode())
    return h.hexdigest()[:16]


def gather(name: str, docs, questions: list[dict], cache: Path) -> list[dict]:
    """Retrieval, candidates, cosines, IDF and tags per question, through the product's own
    Pipeline.gather, cached by content."""
    key = digest(GATHER_VERSION, *(d.sha256 for d in docs), *(q["id"] + q["question"] for q in questions))
    path = cache / f"{name}-{key}.pkl"
    if path.exists():
        return pickle.loads(path.read_bytes())
    config = Config.from_env().with_(index_dir=cache / f"index-{name}-{key}", store="faiss") if docs else Config()
    pipe = Pipeline(config, log=lambda *_: None, documents=docs or None)
    t = time.perf_counter()
    pipe.load_index()
    say(f"  {name}: index ready in {time.perf_counter() - t:.0f} s")
    out = []
    for n, q in enumerate(questions, 1):
        history = [(h, "") for h in q.get("history", [])]
        g = pipe.gather(pipe.read(q["question"], history))
        out.append({**q, "history": history, "hits": g.hits, "cands": g.cands, "cos": g.cos, "idf": g.idf,
                    "tags": g.tags})
        if n % 1000 == 0:
            say(f"  {name}: {n}/{len(questions)} questions, {time.perf_counter() - t:.0f} s")
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(out))
    return out


def holds(r: dict, c) -> bool:
    """Whether candidate sentence `c` holds the answer to question row `r`."""
    if "keys_any" in r:
        return c.doc_id[:3] in r["gold_docs"] and any(k in c.text.lower() for k in r["keys_any"])
    return c.doc_id == r["context_id"] and contains_answer(c.text, r["answers"])


def read_q(r: dict) -> question.Question:
    if "_q" not in r:  # read once: the settings search chooses the evidence many times over
        r["_q"] = question.read(r["question"], r["history"] or None)
    return r["_q"]


def sentence_data(rows: list[dict]):
    """Per candidate: features, label, question number."""
    xs, ys, qs = [], [], []
    for n, r in enumerate(rows):
        q = read_q(r)
        cands = r["cands"]
        if not cands:
            continue
        xs.append(evidence.describe(q, cands, r["cos"], r["idf"], r["hits"], r["tags"])[1])
        ys.append([holds(r, c) for c in cands])
        qs.append(np.full(len(cands), n))
    return np.vstack(xs), np.concatenate(ys).astype(float), np.concatenate(qs)


def fit_trees(params: dict, trees: int, x, y, w=None):
    import lightgbm

    return lightgbm.train(params, lightgbm.Dataset(x, y, weight=w, free_raw_data=False), num_boost_round=trees)


def out_of_fold(params, trees, x, y, groups, w=None, models=None) -> np.ndarray:
    """Each row's prediction by the model fitted on the other folds (`models`, when given, gets
    {group: the model that did not see it})."""
    from sklearn.model_selection import GroupKFold

    oof = np.zeros(len(y))
    for fit_rows, score_rows in GroupKFold(FOLDS).split(x, y, groups):
        model = fit_trees(params, trees, x[fit_rows], y[fit_rows], None if w is None else w[fit_rows])
        oof[score_rows] = model.predict(x[score_rows])
        if models is not None:
            models.update({g: model for g in set(groups[score_rows])})
    return oof


def as_trees(model, names, settings, about) -> learned.Trees:
    """The booster as the product reads it, checked to predict as LightGBM does."""
    trees = tuple(learned.flatten(t["tree_structure"]) for t in model.dump_model()["tree_info"])
    return learned.Trees(names, trees, settings, about)


def evidence_of(r: dict, ranked: np.ndarray, settings: dict):
    return evidence.choose(read_q(r), r["cands"], ranked, settings)


def recall(rows, ranks, labels, settings) -> tuple[float, float, float]:
    """Share of the questions whose best sentence / evidence holds the answer, and sentences per
    question; `labels`: per question, whether each candidate holds the answer."""
    top = hit = sentences = 0
    for r, ranked, held in zip(rows, ranks, labels, strict=True):
        if not r["cands"]:
            continue
        place = r.setdefault("_place", {(c.passage, c.start): i for i, c in enumerate(r["cands"])})
        chosen = evidence_of(r, ranked, settings)
        top += held[int(np.argmax(ranked))]
        hit += any(held[place[s.passage, s.start]] for s in chosen)
        sentences += len(chosen)
    n = len(rows)
    return top / n, hit / n, sentences / n


def split_by_question(values: np.ndarray, qs: np.ndarray, rows: list[dict]) -> list[np.ndarray]:
    out = [np.zeros(0) for _ in rows]
    for n in np.unique(qs):
        out[n] = values[qs == n]
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--articles", type=int, default=60, help="squad1-train articles the ranker is fitted on")
    args = ap.parse_args()
    cache = ROOT / ".cache" / "fit"
    t0 = time.perf_counter()
    say("fitting data: squad1-train (ranker), squad2-fit, squad2/train.jsonl, seeds (refusal); "
        "squad2/answers.jsonl is not read")

    # the ranker, on squad1-train
    s1 = read_jsonl(EVAL / "squad1-train" / "answers.jsonl")
    titles = sorted({r["title"] for r in s1})
    chosen = set(random.Random(SEED).sample(titles, min(args.articles, len(titles))))
    docs = [d for d in beir_documents(EVAL / "squad1-train" / "corpus.jsonl") if d.id.rsplit("_", 1)[0]
            in {t.replace(" ", "_") for t in chosen}]
    s1 = [r for r in s1 if r["title"] in chosen]
    say(f"ranker: {len(s1)} questions of {len(chosen)} squad1-train articles, {len(docs)} paragraphs")
    rank_rows = gather("squad1", docs, s1, cache)
    x, y, qs = sentence_data(rank_rows)
    seeds = read_jsonl(EVAL / "seeds" / "questions.jsonl")
    seed_rows = gather("seeds", [], seeds, cache)
    seed_x, seed_y, seed_q = sentence_data(seed_rows)
    # the seeds join the ranker's data, their positives weighing RANKER_SEED_SHARE of SQuAD's, spread over the folds
    all_x, all_y = np.vstack([x, seed_x]), np.concatenate([y, seed_y])
    groups = np.array([rank_rows[n]["title"] for n in qs] + [f"seeds-{n % FOLDS}" for n in seed_q])
    w = np.concatenate([np.ones(len(y)), np.full(len(seed_y), RANKER_SEED_SHARE * y.sum() / max(seed_y.sum(), 1))])
    fold_models: dict = {}
    oof_all = out_of_fold(RANKER, RANKER_TREES, all_x, all_y, groups, w, fold_models)
    oof, seed_oof = oof_all[:len(y)], oof_all[len(y):]
    from sklearn.metrics import roc_auc_score

    say(f"  candidates {len(y)} (+{len(seed_y)} of the seeds), positives {int(y.sum())} (+{int(seed_y.sum())}); "
        f"out-of-fold AUC {roc_auc_score(y, oof):.3f} (SQuAD), {roc_auc_score(seed_y, seed_oof):.3f} (seeds)")

    # the evidence settings, on the out-of-fold scores
    ranker_all = fit_trees(RANKER, RANKER_TREES, all_x, all_y, w)
    seed_ranks = split_by_question(seed_oof, seed_q, seed_rows)
    ranks = split_by_question(oof, qs, rank_rows)
    labels = split_by_question(y, qs, rank_rows)
    seed_labels = split_by_question(seed_y, seed_q, seed_rows)
    answerable_seeds = [i for i, r in enumerate(seed_rows) if r["answerable"]]
    best, grid = None, (0.3, 0.5, 0.7, 0.9, 2.0)
    say("  neighbour also part | squad1 top, evidence recall, sentences | seeds evidence recall, sentences")
    for nb in grid:
        for also in grid:
            for part in grid:
                settings = {"neighbour": nb, "also": also, "part": part}
                a = recall(rank_rows, ranks, labels, settings)
                b = recall(*([part[i] for i in answerable_seeds] for part in (seed_rows, seed_ranks, seed_labels)),
                           settings)
                value = (a[1] - COST * (a[2] - 1)) + (b[1] - COST * (b[2] - 1))
                if best is None or value > best[0] + 1e-9:
                    best = (value, settings, a, b)
    _, settings, a, b = best
    say(f"  chosen {settings}: squad1 top {a[0]:.3f}, evidence {a[1]:.3f}, {a[2]:.2f} sentences; "
        f"seeds evidence {b[1]:.3f}, {b[2]:.2f} sentences")
    ranker = as_trees(ranker_all, features.SENTENCE_FEATURES, settings, {
        "data": f"squad1-train, {len(chosen)} articles (seed {SEED}), {len(s1)} questions, {len(y)} candidates; "
                f"the {len(seed_rows)} seed questions weighted {RANKER_SEED_SHARE}",
        "cv_auc": round(float(roc_auc_score(y, oof)), 4), "cv_top_holds_answer": round(a[0], 4),
        "cv_evidence_holds_answer": round(a[1], 4), "params": RANKER, "trees": RANKER_TREES})
    check = ranker_all.predict(x[:2000])
    assert np.allclose(ranker.predict(x[:2000]), check, atol=1e-9), "the numpy trees disagree with LightGBM"

    # the refusal model, on squad2-fit, squad2/train.jsonl and the seeds
    fit2 = read_jsonl(EVAL / "squad2-fit" / "answers.jsonl")
    fit_rows = gather("squad2-fit", beir_documents(EVAL / "squad2-fit" / "corpus.jsonl"), fit2, cache)
    train = read_jsonl(EVAL / "squad2" / "train.jsonl")
    train_titles = {r["context_id"].rsplit("_", 1)[0] for r in train}
    train_docs = [d for d in beir_documents(EVAL / "squad2" / "corpus.jsonl") if d.id.rsplit("_", 1)[0] in train_titles]
    train_rows = gather("squad2-train", train_docs, train, cache)
    rows = fit_rows + train_rows + seed_rows
    xq, yq, kinds, groups = [], [], [], []
    # a seed question's evidence is chosen by the ranker fitted without it, as a new question's would be
    seed_rankers = {n: as_trees(fold_models[f"seeds-{n % FOLDS}"], features.SENTENCE_FEATURES, settings, {})
                    for n in set(seed_q.tolist())}
    seed_number = {id(r): n for n, r in enumerate(seed_rows)}
    for r in rows:
        q = read_q(r)
        own = seed_rankers.get(seed_number.get(id(r), -1), ranker)
        sel = evidence.select(q, r["cands"], r["cos"], r["idf"], r["hits"], r["tags"], ranker=own)
        xq.append(features.question_row(q, r["hits"], sel))
        said = [r["cands"][i] for i in sel.chosen]
        lead = r["cands"][sel.best].doc_id if said else None
        good = r["answerable"] and any(holds(r, c) for c in said) and ("keys_any" in r or lead == r["context_id"])
        yq.append(float(good))
        kinds.append(r.get("kind", "squad-answerable" if r["answerable"] else "squad-unanswerable"))
        # the seeds are spread over the folds, so each is scored by a model fitted on the others
        groups.append(f"seeds-{len(groups) % FOLDS}" if "keys_any" in r else r["context_id"].rsplit("_", 1)[0])
    xq, yq, groups = np.array(xq), np.array(yq), np.array(groups)
    answerable = np.array([r["answerable"] for r in rows])
    is_seed = np.char.startswith(groups.astype(str), "seeds")
    w = np.where(is_seed, SEED_SHARE * (~is_seed).sum() / max(is_seed.sum(), 1), 1.0)
    say(f"refusal: {len(yq)} questions ({int((~answerable).sum())} unanswerable), positives {int(yq.sum())}")
    oof_q = out_of_fold(REFUSAL, REFUSAL_TREES, xq, yq, groups, w)
    np.savez(cache / "refusal-oof.npz", x=xq, y=yq, oof=oof_q, kinds=np.array(kinds), groups=groups,
             answerable=answerable)  # for reading the misses
    say(f"  out-of-fold AUC: SQuAD {roc_auc_score(yq[~is_seed], oof_q[~is_seed]):.3f}")
    say("  threshold | SQuAD accuracy, unanswerable refused, answerable refused | seeds right, near-topic refused, "
        "off-topic refused, false refusals")
    tried = []
    col = {name: k for k, name in enumerate(features.QUESTION_FEATURES)}
    for rules in RULE_SETS:
        vetoed = np.zeros(len(yq), bool)
        for name, at_least in rules:
            vetoed |= xq[:, col[name]] >= at_least
        say(f"  refusing also when {' or '.join(f'{n} >= {v}' for n, v in rules) or 'nothing else'}:")
        for t in np.arange(0.05, 0.8, 0.025):
            given = (oof_q >= t) & ~vetoed
            ok = np.where(given, yq == 1, ~answerable)
            value = ok[~is_seed].mean() + ok[is_seed].mean()  # SQuAD's and the seeds' accuracy count alike
            s = ~is_seed
            line = (f"  {t:.3f} | {ok[s].mean():.3f}, {(~given[s & ~answerable]).mean():.3f}, "
                    f"{(~given[s & answerable]).mean():.3f} | {int(ok[is_seed & answerable].sum())}/"
                    f"{int((is_seed & answerable).sum())}, " + ", ".join(
                        f"{int((~given & is_seed & (np.array(kinds) == k)).sum())}/"
                        f"{int((is_seed & (np.array(kinds) == k)).sum())}" for k in ("near-topic", "off-topic"))
                    + f", {int((~given & is_seed & answerable).sum())} | moved {int((vetoed & (oof_q >= t)).sum())}")
            say(line)
            refused = int((~given & is_seed & answerable).sum())  # answerable seed questions refused
            tried.append((value, ok[~is_seed].mean(), round(float(t), 3), rules, line, given, refused))
    # the sum is flat near its top: of the choices within TIE of it, the one that refuses the fewest answerable
    # seed questions (a refused answer is the failure a user of these documents meets), then the one best on SQuAD
    top = max(v for v, *_ in tried)
    _, _, threshold, rules, line, given, _ = max((x for x in tried if x[0] >= top - TIE),
                                                  key=lambda x: (-x[6], x[1], -x[2]))
    say(f"  chosen threshold {threshold}, refusing also when {rules}:{line}")
    refusal_all = fit_trees(REFUSAL, REFUSAL_TREES, xq, yq, w)
    ok = np.where(given, yq == 1, ~answerable)
    about = {"data": f"squad2-fit {len(fit_rows)}, squad2/train.jsonl {len(train_rows)}, seeds {len(seed_rows)} "
                     f"(weighted {SEED_SHARE} of SQuAD)", "cv_auc_squad": round(float(roc_auc_score(
                         yq[~is_seed], oof_q[~is_seed])), 4), "cv_accuracy_squad": round(float(ok[~is_seed].mean()), 4),
             "params": REFUSAL, "trees": REFUSAL_TREES}
    chosen_settings = {"min_confidence": threshold, "refuse_when": [list(r) for r in rules]}
    refusal = as_trees(refusal_all, features.QUESTION_FEATURES, chosen_settings, about)
    assert np.allclose(refusal.predict(xq[:500]), refusal_all.predict(xq[:500]), atol=1e-9)

    # the ranker on squad2-fit, which it never saw
    fit_answerable = [r for r in fit_rows if r["answerable"]]
    fx, fy, fq = sentence_data(fit_answerable)
    held = recall(fit_answerable, split_by_question(ranker.predict(fx), fq, fit_answerable),
                  split_by_question(fy, fq, fit_answerable), settings)
    say(f"ranker on squad2-fit's {len(fit_answerable)} answerable questions (never fitted on): top sentence holds "
        f"the answer {held[0]:.3f}, evidence {held[1]:.3f}, {held[2]:.2f} sentences")
    ranker.about["squad2_fit_top_holds_answer"] = round(held[0], 4)
    for name, model, dump in (("ranker", ranker, ranker_all), ("refusal", refusal, refusal_all)):
        learned.save(learned.FITTED / f"{name}.json", dump.dump_model(), model.features, model.settings, model.about)
    say(f"wrote {learned.FITTED}/ranker.json and refusal.json in {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
