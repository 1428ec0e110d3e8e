"""What the learned evidence stage adds to a question: entity tags, the ranker, the refusal.

Over the seed corpus with the real models: per question, retrieval (embed + search + the
candidate sentences' cosines, `Pipeline.gather`) beside what this stage adds on top of it:
the passages' entity tags (kept once tagged: `tags_warm`, and what tagging them the first
time costs: `tags_cold`), the ranker's features and trees (`evidence.select`) and the refusal
model (`abstain.assess`). Also the time to read both model files. Target: the added time at
most 40 ms p50; the files read in under 200 ms.
"""

from __future__ import annotations

import time

from . import SEED_QUESTIONS, median


def run(args, shared: dict) -> dict:
    from rag.answering import abstain, evidence, features, learned
    from rag.config import Config
    from rag.pipeline import Pipeline

    t = time.perf_counter()
    learned.read(learned.FITTED / "ranker.json", features.SENTENCE_FEATURES)
    learned.read(learned.FITTED / "refusal.json", features.QUESTION_FEATURES)
    load_ms = 1000 * (time.perf_counter() - t)
    pipe = Pipeline(Config.from_env(), log=lambda *_: None)
    pipe.load_index()
    pipe.embedder.load()
    pipe.tagger.load()
    ranker, refusal = learned.ranker(), learned.refusal()
    cold, gather, warm, select, assess = [], [], [], [], []
    for round_ in range(args.repeats + 1):
        for text in SEED_QUESTIONS:
            q = pipe.read(text)
            t0 = time.perf_counter()
            g = pipe.gather(q)
            t1 = time.perf_counter()
            texts = [h.chunk.text for h in g.hits]
            tags = pipe.tags(texts)
            t2 = time.perf_counter()
            pipe.tagger.tag(texts)  # what the first sight of these passages costs
            t3 = time.perf_counter()
            sel = evidence.select(q, g.cands, g.cos, g.idf, g.hits, tags, ranker)
            t4 = time.perf_counter()
            abstain.assess(q, g.hits, sel, pipe.config, refusal)
            t5 = time.perf_counter()
            if round_:  # the first round warms the caches
                gather.append(t1 - t0)
                warm.append(t2 - t1)
                cold.append(t3 - t2)
                select.append(t4 - t3)
                assess.append(t5 - t4)
    ms = {k: 1000 * median(v) for k, v in (("gather", gather), ("tags_warm", warm), ("tags_cold", cold),
                                           ("select", select), ("assess", assess))}
    added = [a + b + c for a, b, c in zip(warm, select, assess, strict=True)]
    return {"questions": len(gather), "model_files_ms": load_ms, "p50_ms": ms,
            "added_p50_ms": 1000 * median(added), "targets": {"added_p50_ms": 40, "model_files_ms": 200}}


def table(r: dict) -> list[tuple[str, str, str]]:
    ms = r["p50_ms"]
    return [("evidence stage added per question: tags (kept) + ranker + refusal, seed corpus",
             f"p50 {r['added_p50_ms']:.1f} ms (tags {ms['tags_warm']:.1f} + ranker {ms['select']:.1f} + refusal "
             f"{ms['assess']:.1f})", f"retrieval p50 {ms['gather']:.1f} ms; tagging passages the first time "
             f"{ms['tags_cold']:.1f} ms (target added <= 40 ms)"),
            ("fitted model files read", f"{r['model_files_ms']:.0f} ms", "target < 200 ms")]
