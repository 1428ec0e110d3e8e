"""The answering/refusing trade-off of `eval qa`, from one run's rows.

    .venv/bin/python -m rag eval qa --data ../shared/eval/squad2 --min-confidence 0 --rows rows.jsonl
    .venv/bin/python tools/qa_curve.py rows.jsonl

The answer to a question does not depend on the abstention threshold (decoding is greedy, and
a generated answer that fails the check gives way to the quoted evidence, never to a
refusal), so the rows of one run with `--min-confidence 0` say what every threshold would do:
a question is refused at threshold t when it was refused anyway (no evidence, or none of its words in the passages)
or its confidence is below t. Prints the SQuAD metrics of rag/evaluation/metrics.py for each t. This
reads measured rows; it fits nothing.
"""

import json
import sys

from rag.evaluation.metrics import qa_metrics

KEYS = ("accuracy", "answer_precision", "answer_recall", "no_answer_acc", "citation_precision", "false_refusal")


def at(rows: list[dict], t: float) -> dict:
    out = []
    for r in rows:
        refused = r["refused"] or r["confidence"] < t
        out.append({**r, "refused": refused, "text": "" if refused else r["text"],
                    "first_citation": None if refused else r["first_citation"]})
    return qa_metrics(out)


def main(path: str) -> None:
    rows = [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]
    print("| min_confidence | " + " | ".join(KEYS) + " |\n|" + " --- |" * (len(KEYS) + 1))
    for i in range(0, 15):
        t = round(0.05 * i, 2)
        m = at(rows, t)
        print(f"| {t:.2f} | " + " | ".join(f"{m[k]:.3f}" for k in KEYS) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
