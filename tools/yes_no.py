"""Yes or no, measured on fitting data: the figures behind `AFFIRMS` and `SCOPE` in
rag/answering/compose.py.

    .venv/bin/python tools/yes_no.py [--paragraphs 400]

No fitting set has yes/no questions, so they are made from squad2-fit's sentences (the
sentences tools/mutations.py draws, with its mutations). From a sentence S, asked against
S as the evidence:
- "Is it true that S?" must open with "Yes";
- the same with a negation added to S, or removed from it, must open with "No";
and asked against another sentence of the same paragraph, no yes or no may be claimed.
Each is also asked with ", according to the <its article's title> article" before its question
mark: naming the source must not change the answer. Weights are IDF over the squad2-fit paragraphs, as the
index gives them. Prints, per case and for each AFFIRMS and SCOPE tried, the share answered
right, and the wrong yes/no claimed (the worse error: a wrong word up front).
"""

from __future__ import annotations

import argparse
import math
import random
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

import mutations  # noqa: E402

from rag.answering import compose, evidence, question  # noqa: E402
from rag.evaluation.data import read_jsonl  # noqa: E402
from rag.text import sentence_spans, stems  # noqa: E402

CORPUS = ROOT.parent / "shared" / "eval" / "squad2-fit" / "corpus.jsonl"


def asked(sentence: str, source: str = "") -> str:
    """"Is it true that S?", or "..., according to the `source` article?"."""
    body = sentence.strip().rstrip(".!?")
    return f"Is it true that {body[0].lower()}{body[1:]}{f', according to the {source} article' if source else ''}?"


def cases(paragraphs: int, rng: random.Random):
    """(case, question, evidence sentence, expected "Yes" / "No" / None)."""
    nlp = mutations._nlp()
    rows = rng.sample(read_jsonl(CORPUS), paragraphs)
    for r in rows:
        spans = [r["text"][s:e] for s, e in sentence_spans(r["text"])]
        spans = [s for s in spans if 8 <= len(s.split()) <= 40]
        for i, s in enumerate(spans[:3]):
            made = mutations.mutations(nlp(s), nlp(r["text"]), {}, rng)
            other = spans[(i + 1) % len(spans)] if len(spans) > 1 else None
            for source in ("", r["id"].rsplit("_", 1)[0].replace("_", " ")):
                tag = " (according to the <title> article)" if source else ""
                yield "S asked of S" + tag, asked(s, source), s, "Yes"
                for kind in ("negation added", "negation removed"):
                    if kind in made:
                        yield f"S with a {kind}, asked of S" + tag, asked(made[kind], source), s, "No"
                if other is not None and other != s:
                    yield "S asked of another sentence" + tag, asked(s, source), other, None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paragraphs", type=int, default=400)
    args = ap.parse_args()
    texts = [r["text"] for r in read_jsonl(CORPUS)]
    df = Counter(t for toks in stems(texts) for t in set(toks))
    idf = {t: math.log(1 + (len(texts) - n + 0.5) / (n + 0.5)) for t, n in df.items()}
    made = list(cases(args.paragraphs, random.Random(23)))
    read = [(case, question.read(q), s, want) for case, q, s, want in made]
    settings = [(a, sc) for a in (0.5, 0.6, 0.7) for sc in (2, 4, 6)]
    for affirms, scope in settings:
        compose.AFFIRMS, compose.SCOPE = affirms, scope
        right, wrong, total = Counter(), Counter(), Counter()
        for case, q, s, want in read:
            said = compose.yes_no(q, s, evidence.weights(list(q.tokens), {t: idf[t] for t in q.tokens if t in idf}))
            total[case] += 1
            right[case] += said == want
            wrong[case] += said is not None and said != want
        print(f"AFFIRMS {affirms}, SCOPE {scope}: right {sum(right.values()) / sum(total.values()):.3f}, "
              f"a wrong yes/no {sum(wrong.values()) / sum(total.values()):.3f}")
        for case in sorted(total):
            print(f"    {case}: {total[case]}, right {right[case] / total[case]:.3f}, "
                  f"wrong yes/no {wrong[case] / total[case]:.3f}")


if __name__ == "__main__":
    main()
