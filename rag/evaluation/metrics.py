"""Evaluation metrics: retrieval (as BEIR/pytrec_eval) and question answering (SQuAD 2.0).

Retrieval metrics are over ranked document ids, as BEIR/pytrec_eval compute them.
QA F1 is scored on `short_answer`, the words of the answer that do not restate the
question, and also on the whole answer text (`f1_whole`).

`run` maps a query id to its ranked document ids, `qrels` maps a query id to
{document id: relevance}. Queries without relevant documents are left out.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter

from ..text import STOPWORDS, sentences, stem


def ndcg_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    dcg = sum(relevant.get(d, 0) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(relevant.values(), reverse=True)[:k]
    idcg = sum(r / math.log2(i + 2) for i, r in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def recall_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    wanted = {d for d, r in relevant.items() if r > 0}
    return len(wanted & set(ranked[:k])) / len(wanted) if wanted else 0.0


def mrr_at(ranked: list[str], relevant: dict[str, int], k: int) -> float:
    for i, d in enumerate(ranked[:k]):
        if relevant.get(d, 0) > 0:
            return 1 / (i + 1)
    return 0.0


def evaluate(run: dict[str, list[str]], qrels: dict[str, dict[str, int]]) -> dict[str, float]:
    """Mean nDCG@10, Recall@10, Recall@100 and MRR@10 over the judged queries of `run`."""
    judged = [q for q in run if any(r > 0 for r in qrels.get(q, {}).values())]
    if not judged:
        raise ValueError("no query of the run has a relevant document in the qrels")

    def mean(metric, k):
        return sum(metric(run[q], qrels[q], k) for q in judged) / len(judged)

    return {"ndcg@10": mean(ndcg_at, 10), "recall@10": mean(recall_at, 10),
            "recall@100": mean(recall_at, 100), "mrr@10": mean(mrr_at, 10), "queries": len(judged)}


# --- question answering (SQuAD 2.0 conventions) ---

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(text: str) -> str:
    """SQuAD's normalisation: lower case, no punctuation, no articles, single spaces."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCT)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(gold).split()
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if not pred or not ref:
        return float(pred == ref)
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def contains_answer(prediction: str, golds: list[str]) -> bool:
    """Whether the normalised prediction contains a normalised gold answer (as whole words)."""
    text = f" {normalize_answer(prediction)} "
    return any(g and f" {g} " in text for g in map(normalize_answer, golds))


def short_answer(question: str, text: str) -> str:
    """The span of the answer's first sentence that answers: its longest run of words that
    do not restate the question ("Two classes between L and P are NL and NC." -> "NL and NC").
    Stopwords may sit inside a run, not at its ends; with no such run, the whole sentence."""
    first = (sentences(re.sub(r"\s*\[\d+\]", "", text).strip()) or [""])[0]
    asked = {w.lower() for w in re.findall(r"\w+", question)}
    asked |= {stem(w) for w in asked}

    def key(word: str) -> str:
        return re.sub(r"\W", "", word.lower())

    def new(word: str) -> bool:
        k = key(word)
        return bool(k) and k not in STOPWORDS and k not in asked and stem(k) not in asked

    best: list[str] = []
    run: list[str] = []
    for word in first.rstrip(".").split() + [""]:  # "" ends the last run
        if new(word) or (run and key(word) in STOPWORDS):
            run.append(word)
            continue
        while run and not new(run[-1]):
            run.pop()
        if sum(map(new, run)) > sum(map(new, best)):
            best = run
        run = []
    return " ".join(best).strip(",;:") or first


def qa_metrics(rows: list[dict]) -> dict[str, float]:
    """rows: {"question", "answerable", "answers", "refused", "text", "first_citation",
    "context_id", "evidence"}. F1 against the best gold answer, on the short answer (`f1`) and
    on the whole answer text, markers removed (`f1_whole`).

    accuracy: the share of questions handled right (an answerable one answered, holding a gold
    answer and citing the gold paragraph first; an unanswerable one refused): always refusing
    scores the share of unanswerable questions. answer_precision: of the questions answered,
    the share answered right (any answer to an unanswerable question is wrong).
    evidence_recall: the share of answerable questions whose gold answer is in the evidence chosen."""
    answerable = [r for r in rows if r["answerable"]]
    unanswerable = [r for r in rows if not r["answerable"]]
    answered = [r for r in answerable if not r["refused"]]
    right = [r for r in answered if contains_answer(r["text"], r["answers"]) and r["first_citation"] == r["context_id"]]
    given = [r for r in rows if not r["refused"]]

    def f1(r, whole=False):
        if r["refused"]:
            return 0.0
        text = r["text"] if whole else short_answer(r["question"], r["text"])
        return max(token_f1(text, g) for g in r["answers"])

    def share(part, whole):
        return len(part) / len(whole) if whole else 0.0

    return {
        "answer_recall": share([r for r in answered if contains_answer(r["text"], r["answers"])], answerable),
        "f1": sum(map(f1, answerable)) / len(answerable) if answerable else 0.0,
        "f1_whole": sum(f1(r, whole=True) for r in answerable) / len(answerable) if answerable else 0.0,
        "no_answer_acc": share([r for r in unanswerable if r["refused"]], unanswerable),
        "false_refusal": share([r for r in answerable if r["refused"]], answerable),
        "citation_precision": share([r for r in answered if r["first_citation"] == r["context_id"]], answered),
        "overall": sum(f1(r) if r["answerable"] else float(r["refused"]) for r in rows) / len(rows) if rows else 0.0,
        "accuracy": share(right + [r for r in unanswerable if r["refused"]], rows),
        "answer_precision": share(right, given),
        "evidence_recall": share([r for r in answerable if contains_answer(r.get("evidence", ""), r["answers"])],
                                 answerable),
        "questions": len(rows),
    }


SEED_KINDS = ("fact", "list", "definition", "paraphrase", "why", "two-doc", "casual", "typo", "yes-no", "number",
              "summary", "follow-up", "off-topic", "near-topic")


def seed_metrics(rows: list[dict]) -> dict:
    """Scores on the seed development set (../shared/eval/seeds/README.md), overall and per kind.
    rows: {"kind", "answerable", "keys_any", "gold_docs", "refused", "text", "cited_docs", "evidence"}.
    An answerable question is right when it is answered, a key is in the answer and a gold
    document is cited; an unanswerable one when it is refused."""
    def has_key(text: str, keys: list[str]) -> bool:
        return any(k in text.lower() for k in keys)

    def score(part: list[dict]) -> dict:
        ans = [r for r in part if r["answerable"]]
        un = [r for r in part if not r["answerable"]]
        given = [r for r in ans if not r["refused"]]
        right = [r for r in given if has_key(r["text"], r["keys_any"]) and set(r["cited_docs"]) & set(r["gold_docs"])]

        def share(a, b):
            return round(len(a) / len(b), 3) if b else None

        return {"questions": len(part), "answerable": len(ans), "right": share(right, ans), "right_count": len(right),
                "key_recall": share([r for r in given if has_key(r["text"], r["keys_any"])], ans),
                "gold_doc_cited": share([r for r in given if set(r["cited_docs"]) & set(r["gold_docs"])], ans),
                "false_refusal": share([r for r in ans if r["refused"]], ans),
                "false_refusal_count": len([r for r in ans if r["refused"]]),
                "refused_off_topic": share([r for r in un if r["refused"] and r["kind"] == "off-topic"],
                                           [r for r in un if r["kind"] == "off-topic"]),
                "refused_near_topic": share([r for r in un if r["refused"] and r["kind"] == "near-topic"],
                                            [r for r in un if r["kind"] == "near-topic"]),
                "evidence_recall": share([r for r in ans if has_key(r["evidence"], r["keys_any"])], ans),
                "accuracy": share(right + [r for r in un if r["refused"]], part)}

    kinds = [k for k in SEED_KINDS if any(r["kind"] == k for r in rows)]
    return {"overall": score(rows), "kinds": {k: score([r for r in rows if r["kind"] == k]) for k in kinds},
            "written": written(rows)}


FIRST_KINDS = ("fact", "number", "casual", "typo", "follow-up", "yes-no")  # questions whose answer belongs up front


def written(rows: list[dict]) -> dict:
    """How the seed answers read (issue 24), as "n/of" strings and numbers: a key in the first
    sentence (of `FIRST_KINDS`), a yes/no question opened with the right word, a summary right
    with at least 3 sentences in at most 150 words, the median words of an answer (summaries
    aside), and the answers whose generated text was thrown away (generated, none kept).
    rows also carry "first" (the first sentence), "generated", "quoted" and "yes_no"."""
    def frac(hits: list, of: list) -> str:
        return f"{len(hits)}/{len(of)}"

    first = [r for r in rows if r["kind"] in FIRST_KINDS and r["answerable"]]
    yes_no = [r for r in rows if r.get("yes_no")]
    summaries = [r for r in rows if r["kind"] == "summary"]
    answered = [r for r in rows if not r["refused"]]
    lengths = sorted(len(r["text"].split()) for r in answered if r["kind"] != "summary")
    return {"key_first": frac([r for r in first if not r["refused"] and any(k in r["first"].lower()
                                                                           for k in r["keys_any"])], first),
            "yes_no_right": frac([r for r in yes_no if not r["refused"]
                                  and r["text"].lower().startswith(r["yes_no"].lower())], yes_no),
            "summaries": frac([r for r in summaries if not r["refused"] and len(r["quoted"]) >= 3
                               and len(r["text"].split()) <= 150 and any(k in r["text"].lower()
                                                                         for k in r["keys_any"])], summaries),
            "median_words": lengths[len(lengths) // 2] if lengths else 0,
            "generated_discarded": frac([r for r in answered if r["generated"] and all(r["quoted"])], answered)}
