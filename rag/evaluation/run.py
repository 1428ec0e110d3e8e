"""`python -m rag eval retrieval|qa`: the product measured on public benchmark data.

Retrieval, on BEIR-format data:

The corpus goes through the product's own path (Document -> chunk -> embed -> FAISS +
BM25 index, `rag.storage.ensure`), cached under .cache/eval/ by content hash so a second
run does not re-embed. Each query is answered by `rag.storage.retrieve.search`; a document scores
as its best chunk. Dense-only (alpha=1), BM25-only (alpha=0) and hybrid are reported
side by side, with the time of each stage and the p50 latency of one product query
(embed the question + fused search for the top 4 chunks).

QA, on SQuAD 2.0-format data (corpus.jsonl, answers.jsonl): every question goes through
the product's `answer()` over an index of all paragraphs; metrics in rag/evaluation/metrics.py.
On the seed development set (a folder with questions.jsonl, ../shared/eval/seeds/), the
corpus is the project's own seeds/ and the scores are those of its README, per kind; a
follow-up (a row with `history`) is asked after the questions of its history, with their
answers passed as the conversation so far.
"""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

from ..config import Config
from ..models.embed import MiniLM
from ..storage import ensure, retrieve
from ..storage.build import terminal_bar
from .data import beir_documents, cached_config, read_jsonl, read_qrels, split_files
from .metrics import evaluate, qa_metrics, seed_metrics, short_answer

RANKED_CHUNKS = 300  # chunks fetched per query: enough for 100 distinct documents


def rank_documents(hits) -> list[str]:
    """Document ids by their best chunk's score (hits are already best first)."""
    seen: dict[str, None] = {}
    for h in hits:
        seen.setdefault(h.chunk.doc_id, None)
    return list(seen)


def eval_retrieval(data: Path, split: str = "test", alpha: float = retrieve.ALPHA, fusion: str = "zscore",
                   config: Config | None = None, log=print) -> dict:
    config = config or Config.from_env()
    queries_file, qrels_file = split_files(data, split)
    qrels = read_qrels(qrels_file)
    queries = {str(q["id"]): q["text"] for q in read_jsonl(queries_file) if str(q["id"]) in qrels}
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    docs = beir_documents(data / "corpus.jsonl")
    embedder = MiniLM()
    config = cached_config(config, data / "corpus.jsonl")
    seconds["read"] = time.perf_counter() - t
    t = time.perf_counter()
    index = ensure(docs, embedder, config, log=log, progress=terminal_bar())
    seconds["index"] = time.perf_counter() - t

    t = time.perf_counter()
    embedder.load()
    seconds["load_model"] = time.perf_counter() - t
    t = time.perf_counter()
    ids = list(queries)
    vectors = embedder.encode([queries[q] for q in ids], batch_size=64)
    seconds["embed_queries"] = time.perf_counter() - t

    modes = {"dense": (1.0, "zscore"), "bm25": (0.0, "zscore"), "hybrid": (alpha, fusion)}
    results = {}
    for mode, (a, f) in modes.items():
        t = time.perf_counter()
        run = {q: rank_documents(retrieve.search(index, v, queries[q], RANKED_CHUNKS, alpha=a,
                                                 pool=RANKED_CHUNKS, fusion=f))
               for q, v in zip(ids, vectors, strict=True)}
        seconds[f"search_{mode}"] = time.perf_counter() - t
        results[mode] = evaluate(run, qrels)

    latencies = []  # one product query: embed the question, fused search for the top k
    for q in ids[:100]:
        t = time.perf_counter()
        retrieve.search(index, lambda q=q: embedder.encode([queries[q]])[0], queries[q], config.top_k, alpha=alpha,
                        fusion=fusion)
        latencies.append(time.perf_counter() - t)
    out = dict(results["hybrid"])
    out.update(seconds=seconds, modes=results, chunks=index.count, documents=len(docs),
               query_ms_p50=1000 * statistics.median(latencies), alpha=alpha, fusion=fusion, split=split)
    return out


def table(result: dict) -> str:
    lines = ["| retrieval | nDCG@10 | Recall@10 | Recall@100 | MRR@10 |", "| --- | --- | --- | --- | --- |"]
    for mode, m in result["modes"].items():
        lines.append(f"| {mode} | {m['ndcg@10']:.4f} | {m['recall@10']:.4f} | {m['recall@100']:.4f} | "
                     f"{m['mrr@10']:.4f} |")
    s = result["seconds"]
    lines.append(f"\n{result['queries']} queries ({result['split']}), {result['documents']} documents, "
                 f"{result['chunks']} chunks; fusion {result['fusion']}, alpha {result['alpha']}")
    lines.append("seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in s.items()))
    lines.append(f"one product query (embed + fused search, top 4): p50 {result['query_ms_p50']:.1f} ms")
    return "\n".join(lines)


_MARKERS = re.compile(r"\s*\[\d+\]")


def _answered(pipe, question: str, history=None) -> tuple[object, str, float]:
    """The product's answer, the evidence it chose (joined) and the seconds the answer took."""
    t = time.perf_counter()
    *pieces, a = pipe.stream(question, history)
    seconds = time.perf_counter() - t
    return a, " ".join(pieces[0].evidence), seconds


def _first(a) -> str:
    """The answer's first sentence; after a bare "Yes." or "No.", with the sentence that says so."""
    if a.abstained or not a.statements:
        return ""
    said = [s.text for s in a.statements[:2]]
    return " ".join(said) if said[0] in ("Yes.", "No.") else said[0]


def eval_seeds(data: Path, limit: int | None = None, config: Config | None = None, log=print,
               pipeline=None) -> dict:
    """Answer the seed development questions over the project's seeds/ and score them
    (with `pipeline` when given: the tests reuse their loaded one)."""
    from ..pipeline import Pipeline

    questions = read_jsonl(data / "questions.jsonl")[:limit]
    pipe = pipeline or Pipeline(config or Config.from_env(), log=log)
    t = time.perf_counter()
    pipe.warm()
    load = time.perf_counter() - t
    rows, seconds = [], []
    for q in questions:
        history = []  # a follow-up is asked after its history, each answer passed on as the chat does
        for earlier in q.get("history", []):
            history.append((earlier, pipe.answer(earlier, list(history)).text))
        a, said, sec = _answered(pipe, q["question"], history or None)
        seconds.append(sec)
        rows.append({**q, "refused": a.abstained, "text": "" if a.abstained else _MARKERS.sub("", a.text).strip(),
                     "cited_docs": [] if a.abstained else [c.doc_id[:3] for c in a.citations],
                     "quoted": [s.quoted for s in a.statements], "evidence": said,
                     "first": _first(a),
                     "generated": "generate" in a.timings, "confidence": round(a.confidence, 4),
                     "seconds": round(sec, 3)})
    out = seed_metrics(rows)
    out.update(seconds_per_question=statistics.median(seconds) if seconds else 0.0, load_seconds=load,
               seconds_p95=sorted(seconds)[int(0.95 * (len(seconds) - 1))] if seconds else 0.0)
    return {**out, "rows": rows}


def seeds_table(result: dict) -> str:
    keys = ["right", "key_recall", "gold_doc_cited", "false_refusal", "refused_off_topic", "refused_near_topic",
            "evidence_recall", "accuracy"]
    lines = ["| kind | questions | " + " | ".join(keys) + " |", "|" + " --- |" * (len(keys) + 2)]
    for name, m in [("overall", result["overall"]), *result["kinds"].items()]:
        cells = ["" if m[k] is None else f"{m[k]:.3f}" for k in keys]
        lines.append(f"| {name} | {m['questions']} | " + " | ".join(cells) + " |")
    o = result["overall"]
    lines.append(f"\nright {o['right_count']}/{o['answerable']} answerable, false refusals {o['false_refusal_count']}; "
                 f"median {result['seconds_per_question']:.2f} s, p95 {result['seconds_p95']:.2f} s per question")
    w = result["written"]
    lines.append(f"key in the first sentence {w['key_first']}, yes/no opening right {w['yes_no_right']}, summaries "
                 f"right with >= 3 sentences in <= 150 words {w['summaries']}, median words {w['median_words']} "
                 f"(summaries aside), generated text discarded {w['generated_discarded']}")
    return "\n".join(lines)


def eval_qa(data: Path, limit: int | None = None, config: Config | None = None, log=print,
            progress: bool = True) -> dict:
    """Answer every question of answers.jsonl with the product and score the answers."""
    from ..pipeline import Pipeline

    if (data / "questions.jsonl").exists() and not (data / "answers.jsonl").exists():
        return eval_seeds(data, limit, config, log)
    config = cached_config(config or Config.from_env(), data / "corpus.jsonl")
    questions = read_jsonl(data / "answers.jsonl")[:limit]
    pipe = Pipeline(config, log=log, documents=beir_documents(data / "corpus.jsonl"))
    t = time.perf_counter()
    pipe.warm()
    load = time.perf_counter() - t
    rows, seconds = [], []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(questions), unit="question", desc="answering")
    for q in questions:
        a, said, sec = _answered(pipe, q["question"])
        seconds.append(sec)
        rows.append({"id": q["id"], "question": q["question"], "answerable": q["answerable"], "evidence": said,
                     "quoted": [s.quoted for s in a.statements],
                     "answers": q["answers"], "context_id": q["context_id"], "refused": a.abstained,
                     "text": "" if a.abstained else _MARKERS.sub("", a.text).strip(),
                     "short": "" if a.abstained else short_answer(q["question"], a.text),
                     "first_citation": a.citations[0].doc_id if a.citations else None,
                     "dropped": [d.sentence for d in a.dropped], "confidence": round(a.confidence, 4)})
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    out = qa_metrics(rows)
    out.update(seconds_per_question=statistics.median(seconds) if seconds else 0.0, load_seconds=load,
               f1_against="short answer (the answer's words that do not restate the question); "
                          "f1_whole: the whole answer text, [n] markers removed")
    return {**out, "rows": rows}


def qa_table(result: dict) -> str:
    if "kinds" in result:
        return seeds_table(result)
    keys = ["accuracy", "answer_precision", "answer_recall", "no_answer_acc", "citation_precision",
            "evidence_recall", "false_refusal", "f1", "overall"]
    lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys),
             "| " + " | ".join(f"{result[k]:.3f}" for k in keys) + " |",
             f"\n{result['questions']} questions; median {result['seconds_per_question']:.2f} s per question; "
             f"F1 against the {result['f1_against']}"]
    return "\n".join(lines)
