"""When the generator's words survive the check: measured on fitting data, to decide when
to run it at all (rag/answering/compose.py `worth_generating`).

    .venv/bin/python tools/generation.py [--questions 200]

Answers answerable questions of ../shared/eval/squad2/train.jsonl (fitting data, over its 8
articles' paragraphs) with the generator always run, as the product did before it decided,
and prints per shape of evidence (how many sentences, how many passages) and per kind of
question: how often the generated text is kept (passes the check and carries the evidence)
and, when kept, how often it holds a gold answer, beside how often the evidence quoted
holds one. Deterministic sample (fixed seed).
"""

from __future__ import annotations

import argparse
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import fit  # noqa: E402

from rag.config import Config  # noqa: E402
from rag.evaluation.data import beir_documents, read_jsonl  # noqa: E402
from rag.evaluation.metrics import contains_answer  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=200)
    args = ap.parse_args()
    train = [r for r in read_jsonl(fit.EVAL / "squad2" / "train.jsonl") if r["answerable"]]
    train = random.Random(fit.SEED).sample(train, min(args.questions, len(train)))
    titles = {r["context_id"].rsplit("_", 1)[0] for r in read_jsonl(fit.EVAL / "squad2" / "train.jsonl")}
    docs = [d for d in beir_documents(fit.EVAL / "squad2" / "corpus.jsonl") if d.id.rsplit("_", 1)[0] in titles]
    config = Config.from_env().with_(index_dir=ROOT / ".cache" / "generation-index", store="faiss")
    pipe = Pipeline(config, log=lambda *_: None, documents=docs)
    pipe.warm()
    shapes: dict[str, Counter] = {}
    for r in train:
        *pieces, a = pipe.stream(r["question"], always_generate=True)
        if a.abstained:
            continue
        q = pipe.read(r["question"])
        evidence = pieces[0].evidence
        kept = any(not s.quoted for s in a.statements)
        passages = len({c.doc_id for c in a.citations})
        for shape in (f"{min(len(evidence), 3)} sentence(s)", f"{min(passages, 2)} passage(s)",
                      f"kind {q.kind or 'what/how'}", "all"):
            n = shapes.setdefault(shape, Counter())
            n["answers"] += 1
            n["kept"] += kept
            n["kept and holds gold"] += kept and contains_answer(a.text, r["answers"])
            n["evidence holds gold"] += contains_answer(" ".join(evidence), r["answers"])
    for shape, n in sorted(shapes.items()):
        print(f"{shape}: {n['answers']} answers, generated text kept {n['kept'] / n['answers']:.3f}, "
              f"holding gold when kept {n['kept and holds gold'] / max(n['kept'], 1):.3f}; "
              f"evidence holds gold {n['evidence holds gold'] / n['answers']:.3f}")


if __name__ == "__main__":
    main()
