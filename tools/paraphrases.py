"""Sentences the generator writes, for a person to judge: the paraphrases of tools/mutations.py.

    .venv/bin/python tools/paraphrases.py [--questions 80] [--out tools/paraphrases.jsonl]

Answers answerable questions of ../shared/eval/squad2/train.jsonl (fitting data, over its 8
articles' paragraphs) with the generator always run, and writes every sentence it wrote
(`check.sentences` of its draft) with the passage it is about: the passage the check cited it
to, or else the retrieved passage that shares the most of its words. Each row gets
`"faithful": null`; a reader then sets it to true (the passage says it: a paraphrase, a
shortening, a restatement) or false (it says something the passage does not: a wrong number,
a swapped role, an invented fact), with a few words in `"why"`. tools/mutations.py measures
the check on the judged rows: the faithful ones must be kept, the others dropped.
Rows already in the file keep their judgement (matched by question and sentence).
Deterministic sample (fixed seed); the generator decodes greedily.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import fit  # noqa: E402

from rag.answering import check  # noqa: E402
from rag.config import Config  # noqa: E402
from rag.evaluation.data import beir_documents, read_jsonl  # noqa: E402
from rag.pipeline import Pipeline  # noqa: E402

OUT = ROOT / "tools" / "paraphrases.jsonl"


def written(pipe: Pipeline, question: str) -> list[dict]:
    """Every sentence the generator wrote for `question`, each with the passage it is about."""
    *pieces, a = pipe.stream(question, always_generate=True)
    if a.abstained:
        return []
    draft = "".join(p for p in pieces if isinstance(p, str))
    cited = {s.text: a.citations[s.n - 1].quote for s in a.statements if not s.quoted}
    passages = [h.chunk.text for h in a.passages]
    rows = []
    for sentence in check.sentences(draft):
        passage = cited.get(sentence) or max(passages, key=lambda p: check.lexical(sentence, p))
        rows.append({"question": question, "sentence": sentence, "passage": passage,
                     "kept": sentence in cited, "faithful": None, "why": ""})
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=80)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    rows = read_jsonl(fit.EVAL / "squad2" / "train.jsonl")
    titles = {r["context_id"].rsplit("_", 1)[0] for r in rows}
    asked = random.Random(fit.SEED + 1).sample([r for r in rows if r["answerable"]], args.questions)
    docs = [d for d in beir_documents(fit.EVAL / "squad2" / "corpus.jsonl") if d.id.rsplit("_", 1)[0] in titles]
    config = Config.from_env().with_(index_dir=ROOT / ".cache" / "generation-index", store="faiss")
    pipe = Pipeline(config, log=lambda *_: None, documents=docs)
    pipe.warm()
    judged = {(r["question"], r["sentence"]): r for r in read_jsonl(args.out)} if args.out.exists() else {}
    out = []
    for r in asked:
        for row in written(pipe, r["question"]):
            old = judged.get((row["question"], row["sentence"]))
            out.append({**row, "faithful": old["faithful"], "why": old["why"]} if old else row)
    with args.out.open("w") as f:
        for row in out:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(out)} sentences from {len(asked)} questions -> {args.out}; "
          f"{sum(r['faithful'] is None for r in out)} to judge")


if __name__ == "__main__":
    main()
