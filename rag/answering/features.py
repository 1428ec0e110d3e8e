"""What the fitted models read: one row of numbers per candidate sentence, one per question.

`sentence_rows` describes every candidate sentence of the retrieved passages against the
question, as the evidence ranker (rag/answering/learned.py) reads it: lexical and embedding
similarity (raw, and against the best candidate), IDF-weighted coverage of the question's
words, shared word pairs, the passage's rank and similarity, the sentence's place and length,
whether it holds an entity of the kind the question asks for (rag/models/entities.py tags)
or a number or date the question does not, a reason for a "why" question, and its
neighbours' similarities (a sentence after one that restates the question, or ends on a
colon, is often where the answer is). `question_row` describes the chosen evidence as the refusal model
reads it: how sure the ranker is, and what the question names or asks for that the
evidence lacks. Plain numbers in and out: the same code serves fitting (tools/fit.py) and
answering, so a feature cannot mean one thing in one and another in the other.
"""

from __future__ import annotations

import re

import numpy as np

from ..models.entities import Span
from ..text import numbers, stems, words
from ..types import Hit
from .question import DATE, KINDS, NEGATION, Question, conflicts, holds_type

SENTENCE_FEATURES = ("cos", "cos_gap", "cos_rank", "overlap", "overlap_gap", "overlap_rank", "own_overlap", "exact",
                     "pairs", "passage", "passage_similarity", "passage_gap", "passage_score_gap", "passage_overlap",
                     "passage_overlap_gap", "window_overlap", "window_overlap_gap", "spread", "run", "index", "words",
                     "new_words", "kind_match", "kind_count", "new_entities", "new_numbers", "dated", "reason",
                     "pronoun", "connective", "colon", "prev_cos", "prev_overlap", "prev_new_words", "prev_colon",
                     "next_cos", "next_overlap",
                     "q_kind", "q_why", "q_lists", "q_two_parts", "q_negated", "q_tokens")
QUESTION_FEATURES = ("p_best", "p_second", "p_gap", "p_top3", "p_above_half", "similarity", "sentence_score",
                     "sentence_overlap", "evidence_overlap", "names_missing", "type_missing", "kind_missing",
                     "negation", "document_missing", "best_missing_idf", "best_missing_count", "passage_missing",
                     "exact_best", "pairs_best", "q_kind", "q_tokens")

# which entity kinds answer which kind of question (rag/answering/question.py `asked_kind`)
ANSWERED_BY = {"person": {"person", "organisation", "group"}, "organisation": {"organisation", "person", "group"},
               "place": {"place"}, "date": {"date"}, "number": {"number", "money", "percent"},
               "money": {"money", "number"}, "percent": {"percent", "number"}}
_REASON = re.compile(r"\b(because|since|due to|so that|in order to|as a result|leads? to|led to|thanks to|caused by|"
                     r"driven by|(is|are|was|were) (essential|crucial|necessary|vital|important|key) (for|to)|"
                     r"reasons?|result(ed|s)? in)\b", re.I)
PRONOUN = re.compile(r"^(it|its|they|their|these|this|those|he|she|his|her)\b", re.I)
_CONNECTIVE = re.compile(r"^(so|thus|therefore|hence|that is|this means|as a result|because|and|also|but|however|"
                         r"moreover|furthermore|another|in addition|besides|there (are|is|were|was)|finally|first|"
                         r"second|third|\d+[.)])\b", re.I)


def kind_code(q: Question) -> int:
    return KINDS.index(q.kind) + 1 if q.kind else 0


def _pairs(tokens) -> set[tuple[str, str]]:
    return set(zip(tokens, tokens[1:], strict=False))


def _share(wanted: dict[str, float], tokens: set[str]) -> float:
    total = sum(wanted.values())
    return sum(w for t, w in wanted.items() if t in tokens) / total if total else 0.0


def _rank(values: np.ndarray) -> np.ndarray:
    order = np.argsort(-values, kind="stable")
    out = np.empty(len(values), np.float32)
    out[order] = np.minimum(np.arange(len(values)), 10)
    return out


def _closeness(asked: list[str], said: list[str]) -> tuple[float, float]:
    """How close together the question's stems stand in a sentence: the span they cover per
    stem found (1 = side by side), and the longest run of them in the question's own order."""
    at = [i for i, t in enumerate(said) if t in set(asked)]
    spread = (at[-1] - at[0] + 1) / len(at) if at else 10.0
    run = best = 0
    pos = {t: i for i, t in enumerate(asked)}
    for a, b in zip(said, said[1:], strict=False):
        run = run + 1 if a in pos and b in pos and pos[b] == pos[a] + 1 else 0
        best = max(best, run)
    return min(spread, 10.0), float(best)


def new_entities(q: Question, text: str, spans: tuple[Span, ...]) -> list[str]:
    """The kinds of the entities of `text` that the question does not already name."""
    asked = q.text.lower()
    return [kind for s, e, kind in spans if text[s:e].lower() not in asked]


def sentence_rows(q: Question, cands, cos: np.ndarray, wanted: dict[str, float], own_list: list[list[str]],
                  tokens: list[set[str]], hits: list[Hit], tags: list[tuple[Span, ...]]) -> np.ndarray:
    """The ranker's features (`SENTENCE_FEATURES`) of every candidate: an (n, features) array.
    `own_list`: each candidate's stems in order; `tokens`: the same as sets, with its subject's for
    one that starts with a pronoun; `tags`: each hit's entity spans, offsets in its chunk text."""
    n = len(cands)
    if not n:
        return np.zeros((0, len(SENTENCE_FEATURES)), np.float32)
    own = [set(t) for t in own_list]
    overlap = np.array([_share(wanted, t) for t in tokens], np.float32)
    own_overlap = np.array([_share(wanted, t) for t in own], np.float32)
    asked_words, asked_pairs = set(q.words), _pairs(list(q.tokens))
    place = {(c.passage, c.index): i for i, c in enumerate(cands)}
    answered_by = ANSWERED_BY.get(q.kind or "")
    sims = np.array([h.similarity for h in hits], np.float32)
    fused = np.array([h.score for h in hits], np.float32)
    passage_tokens = [set(t) for t in stems([h.chunk.text + " " + h.title for h in hits])]
    by_passage = np.array([_share(wanted, t) for t in passage_tokens], np.float32)
    window = np.zeros(n, np.float32)  # the sentence with its neighbours: a question may take words from either
    for i, c in enumerate(cands):
        around = [place.get((c.passage, c.index + k)) for k in (-1, 0, 1)]
        window[i] = _share(wanted, set().union(*(own[j] for j in around if j is not None)))
    rows = np.zeros((n, len(SENTENCE_FEATURES)), np.float32)
    cos_rank, overlap_rank = _rank(cos), _rank(overlap)
    q_row = (kind_code(q), q.why, q.lists, q.two_parts, q.negated, len(q.tokens))
    for i, c in enumerate(cands):
        spans = tuple((s - c.start, e - c.start, k) for s, e, k in tags[c.passage - 1] if s >= c.start and e <= c.end)
        kinds = new_entities(q, c.text, spans)
        sentence_words = words(c.text)
        prev, nxt = place.get((c.passage, c.index - 1)), place.get((c.passage, c.index + 1))
        rows[i] = (cos[i], cos[i] - cos.max(), cos_rank[i], overlap[i], overlap[i] - overlap.max(), overlap_rank[i],
                   own_overlap[i],
                   len(asked_words & set(sentence_words)) / len(asked_words) if asked_words else 0.0,
                   len(asked_pairs & _pairs(own_list[i])) / len(asked_pairs) if asked_pairs else 0.0,
                   c.passage, sims[c.passage - 1], sims[c.passage - 1] - sims.max(),
                   fused[c.passage - 1] - fused.max(), by_passage[c.passage - 1],
                   by_passage[c.passage - 1] - by_passage.max(), window[i], window[i] - window.max(),
                   *_closeness(list(q.tokens), own_list[i]),
                   c.index, len(sentence_words),
                   len(own[i] - q.terms),
                   -1.0 if answered_by is None else float(bool(answered_by & set(kinds))),
                   sum(k in (answered_by or ()) for k in kinds), len(kinds),
                   len(numbers(c.text) - q.numbers), bool(DATE.search(c.text)), bool(_REASON.search(c.text)),
                   bool(PRONOUN.match(c.text)), bool(_CONNECTIVE.match(c.text)), c.text.rstrip().endswith(":"),
                   cos[prev] if prev is not None else 0.0, overlap[prev] if prev is not None else 0.0,
                   len(own[prev] - q.terms) if prev is not None else -1.0,
                   cands[prev].text.rstrip().endswith(":") if prev is not None else False,
                   cos[nxt] if nxt is not None else 0.0, overlap[nxt] if nxt is not None else 0.0, *q_row)
    return rows


def question_row(q: Question, hits: list[Hit], selection) -> tuple[float, ...]:
    """The refusal model's features (`QUESTION_FEATURES`) of the evidence chosen for `q`."""
    score = max((h.similarity for h in hits), default=0.0)
    chosen = selection.sentences
    if not chosen:
        return (0.0, 0.0, 0.0, 0.0, 0.0, score, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 1.0, 1.0, len(q.tokens), 1.0, 0.0,
                0.0, kind_code(q), len(q.tokens))
    f, p, rows = selection.rows, selection.ranked, selection.chosen
    col = {name: k for k, name in enumerate(SENTENCE_FEATURES)}
    top = np.sort(p)[::-1]
    best = selection.best
    weights = selection.weights
    total = sum(weights.values()) or 1.0
    best_text = next(s.text for s in chosen if s.role == "match")
    evidence_tokens = set().union(*map(set, stems([s.text for s in chosen] +
                                                  [hits[i - 1].title for i in {s.passage for s in chosen}])))
    best_tokens = set(stems([best_text])[0])
    docs = {hits[s.passage - 1].chunk.doc_id for s in chosen}
    about = " ".join(h.chunk.text + " " + h.title for h in hits if h.chunk.doc_id in docs).lower()
    wanted = q.names | q.numbers
    said = [s.text for s in chosen if s.role != "also"]
    document_tokens = set(stems([about])[0])
    best_passage = next(s.passage for s in chosen if s.role == "match")
    passage_tokens = set(stems([hits[best_passage - 1].chunk.text + " " + hits[best_passage - 1].title])[0])
    missing_best = [w for t, w in weights.items() if t not in best_tokens]
    top_weight = max(weights.values(), default=1.0) or 1.0
    kind_found = [f[r, col["kind_match"]] for r in rows]
    return (float(top[0]), float(top[1]) if len(top) > 1 else 0.0, float(top[0] - (top[1] if len(top) > 1 else 0.0)),
            float(top[:3].sum()), float((p >= 0.5).sum()), score, selection.best_cos,
            sum(w for t, w in weights.items() if t in best_tokens) / total,
            sum(w for t, w in weights.items() if t in evidence_tokens) / total,
            sum(1 for n in wanted if n not in about) / len(wanted) if wanted else 0.0,
            float(not any(holds_type(q, t) and not (q.asks and conflicts(q, t)) for t in said)),
            -1.0 if q.kind not in ANSWERED_BY else float(max(kind_found, default=0.0) <= 0),
            float(q.negated and not any(NEGATION.search(t) for t in said)),
            sum(w for t, w in weights.items() if t not in document_tokens) / total,
            max(missing_best, default=0.0) / top_weight, len(missing_best),
            sum(w for t, w in weights.items() if t not in passage_tokens) / total,
            float(f[best, col["exact"]]), float(f[best, col["pairs"]]), kind_code(q), len(q.tokens))
