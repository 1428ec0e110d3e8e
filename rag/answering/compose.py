"""The answer first: the short answer the evidence states, before the quote that proves it.

When a question asks for a person, place, organisation, date, number, amount or share
(`Question.kind`) and the best evidence sentence holds an entity of that kind (spaCy's tags,
rag/models/entities.py) that the question does not already name, that entity is the answer's
first sentence ("Odile Varnasse. [1]"); of several, the one nearest the question's words in
the sentence. A count keeps the noun it counts ("50 states", never a bare "50"). How often
this lead is a gold answer on fitting data is printed by `tools/leads.py`.

A yes/no question ("Does ...?", "Is ...?") gets "Yes." or "No." first when the best sentence
holds most of what the question asks (`AFFIRMS` of its IDF weight) and says it with the same
or the opposite polarity (a "not" or "never" the question lacks, or lacks one it has). When
the sentence holds less of it, no yes or no is claimed. The source a question names ("...,
according to the report?") is not part of what it asks; a question about "only X" gets no
"Yes" from a sentence that does not restrict as well. Measured on yes/no questions made from
fitting sentences by tools/yes_no.py (docs/quality.md).

Either way nothing is generated. Otherwise the generator runs only where its words were
measured to be kept (`worth_generating`); elsewhere the evidence is quoted without it.
Leaves out: which sentences are evidence (rag/answering/evidence.py) and the quote itself
(rag/answering/quote.py).
"""

from __future__ import annotations

import re

from ..models.entities import Span
from ..text import STOPWORDS, stem, words
from ..types import Hit, Statement
from .check import Checked, joined
from .evidence import Sentence
from .question import NEGATION, Question
from .quote import new_words, quote

# the kinds of answer a lead is given for: an entity of the same kind (rag/models/entities.py) answers each
LEAD_KINDS = frozenset({"person", "place", "organisation", "date", "number", "money", "percent"})
_COUNTED = re.compile(r"\s+((?:[a-z][a-z-]+ ){0,1}[a-z][a-z-]+)")  # the words after a count: "50 [US] states"
_BARE_NUMBER = re.compile(r"^[\d,.]+$|^(one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|"
                          r"thousands?|millions?|billions?)$", re.I)
_YES_NO = re.compile(r"^(is|are|was|were|do|does|did|can|could|should|would|will|has|have|had|must|may)"
                     r"(n['’]t|not)?\b", re.I)
_SOURCE = re.compile(r",?\s*\baccording to\b[^,;?]*", re.I)  # "according to the essay": the source named
_ONLY = re.compile(r"\b(only|solely|exclusively|merely|just)\b", re.I)  # "only X" asks that nothing else is
SCOPE = 4  # words after a negation that it bears on, within its clause
_CLAUSE = {",", ";", ":", "that", "which", "because", "but", "although", "while", "since"}
AFFIRMS = 0.6  # share of the question's IDF weight the sentence must hold to answer yes or no
LEAD_SCORE = 0.4  # below this ranker score of the best sentence its entity is a gold answer less than 3 times in 5
# (squad2-fit, tools/leads.py), and the quote stands alone


def lead(q: Question, sentence: str, spans: list[Span], weights: dict[str, float] | None = None) -> str | None:
    """The short answer `sentence` gives to `q` (module doc), or None. `spans` are the entity
    spans of the sentence (offsets in it); `weights` the IDF of the question's stems."""
    if q.kind not in LEAD_KINDS:
        return None
    asked = q.text.lower()
    found = [(s, e) for s, e, kind in spans if kind == q.kind
             and not all(w in asked for w in re.findall(r"\w+", sentence[s:e].lower()))]
    if not found:
        return None
    if q.kind == "number":  # "how many countries": the count of countries, if the sentence has one
        found = [se for se in found if _counted(sentence, se) & q.terms] or found
    s, e = min(found, key=lambda se: _distance(q, sentence, se, weights))
    text = sentence[s:e].strip(" ,;:.")
    if q.kind == "number" and _BARE_NUMBER.match(text.split()[-1] if text.split() else ""):
        counted = _COUNTED.match(sentence[e:])
        if counted:
            noun = [w for w in counted.group(1).split() if w not in STOPWORDS]
            if noun:
                text += " " + " ".join(counted.group(1).split()[: counted.group(1).split().index(noun[-1]) + 1])
    return text or None


def _counted(sentence: str, span: tuple[int, int]) -> set[str]:
    """The stems of the words right after a count: what it counts ("40 towns" -> {"town"})."""
    counted = _COUNTED.match(sentence[span[1]:])
    return {stem(w) for w in counted.group(1).split() if w not in STOPWORDS} if counted else set()


def _distance(q: Question, sentence: str, span: tuple[int, int], weights) -> float:
    """How far (in characters) the span stands from the question's words in the sentence,
    each occurrence weighed by its word's IDF; the nearest span is the answer."""
    total, weight = 0.0, 0.0
    for m in re.finditer(r"\w+", sentence.lower()):
        t = stem(m.group())
        if t not in q.terms:
            continue
        w = (weights or {}).get(t, 1.0)
        gap = span[0] - m.end() if m.end() <= span[0] else m.start() - span[1] if m.start() >= span[1] else 0
        total += w * max(gap, 0)
        weight += w
    return total / weight if weight else float(span[0])


def yes_no(q: Question, sentence: str, weights: dict[str, float] | None = None) -> str | None:
    """"Yes" or "No" when `sentence` says what the yes/no question `q` asks (module doc), else None."""
    content = _asked(q)
    if content is None or affirms(q, sentence, weights) < AFFIRMS:
        return None
    asked = {stem(w) for w in words(content)}
    said = "No" if _denies(sentence, asked) != bool(NEGATION.search(content)) else "Yes"
    if said == "Yes" and _ONLY.search(content) and not _ONLY.search(sentence):
        return None  # "Is X only Y?": a sentence that says X is Y does not say it is nothing else
    return said


def _asked(q: Question) -> str | None:
    """What a yes/no question asks, without its auxiliary and the source it names ("...,
    according to the report?": who says it, not what is said); None for a question that is
    not a yes/no one. "Isn't it ...?" asks what "Is it ...?" asks."""
    return _SOURCE.sub("", _YES_NO.sub("", q.text)) if _YES_NO.match(q.text) else None


def affirms(q: Question, sentence: str, weights: dict[str, float] | None = None) -> float:
    """The share of what the yes/no question asks (IDF-weighted) that `sentence` holds."""
    content = _asked(q)
    asked = {stem(w) for w in words(content or "")}
    if not asked:
        return 0.0
    said = {stem(w) for w in words(sentence)}
    weight = {t: (weights or {}).get(t, 1.0) for t in asked}
    return sum(w for t, w in weight.items() if t in said) / sum(weight.values())


def _denies(sentence: str, asked: set[str]) -> bool:
    """Whether a negation in `sentence` bears on what is asked: one of the question's words
    stands within `SCOPE` words after it ("does not require retreat", "not mutually exclusive")."""
    tokens = re.findall(r"[\w']+|[,;:]", sentence.lower())
    for i, t in enumerate(tokens):
        if NEGATION.fullmatch(t):
            scope = []
            for w in tokens[i + 1: i + 1 + SCOPE]:
                if w in _CLAUSE:
                    break  # "not surprising that the river ...": the negation ends with its clause
                scope.append(w)
            if any(stem(w) in asked for w in scope):
                return True
    return False


def answer_first(q: Question, evidence: list[tuple[int, Sentence]], sources: list[Hit],
                 tags: list[tuple[Span, ...]], weights: dict[str, float] | None = None) -> Checked | None:
    """The short answer, or "Yes."/"No.", then the best evidence sentence quoted (with the
    sentence before it, when it was taken for its pronoun), cited; None when neither applies.
    For a yes/no question the sentence is the one of the evidence that holds the most of what it asks.
    `tags`: the entity spans of each of `sources` (offsets in its text)."""
    best = next(((n, s) for n, s in evidence if s.role == "match"), None)
    if best is None:
        return None
    if _asked(q) is not None:  # a yes/no question: the evidence sentence that holds the most of what it asks
        best = max(evidence, key=lambda ns: (affirms(q, ns[1].text, weights), ns[1].role == "match"))
    n, s = best
    first = yes_no(q, s.text, weights)
    if first is None and s.score >= LEAD_SCORE:
        spans = [(a - s.start, b - s.start, k) for a, b, k in tags[n - 1] if a >= s.start and b <= s.end]
        first = lead(q, s.text, spans, weights)
    if first is None:
        return None
    quoted = quote([(m, e) for m, e in evidence if (e == s or e.role == "previous" and s.role == "match") and m == n],
                   sources)
    statements = [Statement(first.rstrip(".") + ".", n, quoted=False), *quoted.statements]
    return Checked(joined(statements), quoted.citations, [], statements)


def worth_generating(q: Question, evidence: list[tuple[int, Sentence]]) -> bool:
    """Whether the generator's words are likely to be kept for this evidence: only a definition
    drawn from one passage. Measured on fitting data (tools/generation.py, docs/quality.md): the
    generated text passes the check and carries the evidence for 0.56 of definitions and at
    most 0.42 of any other kind or shape of evidence (0.04 when it spans two passages), and where
    it is kept it holds a gold answer no more often than the quote it would replace."""
    return q.kind == "definition" and len({n for n, _ in evidence}) == 1


def best_first(q: Question, evidence: list[tuple[int, Sentence]]) -> list[tuple[int, Sentence]]:
    """The evidence with its best sentence first, the rest in their order: the sentence that
    answers leads, what completes it follows. A list keeps reading order (its items follow
    their lead-in). A best sentence that only restates the question (it adds no word to it:
    a byline, a heading) is left out when another sentence adds to it, and the best-scored of
    those leads (measured on fitting data: tools/restating.py, docs/quality.md). Not for a
    yes/no question, whose answer says again what it asks ("X is more than Y")."""
    best = next((s for _, s in evidence if s.role == "match"), None)
    if best is not None and _asked(q) is None and not new_words(best.text, q) \
            and any(new_words(s.text, q) for _, s in evidence):
        rest = [(n, s) for n, s in evidence if s is not best]
        lead = max((ns for ns in rest if new_words(ns[1].text, q)), key=lambda ns: ns[1].score)
        return rest if q.lists else [lead] + [ns for ns in rest if ns is not lead]
    if q.lists:
        return evidence
    return sorted(evidence, key=lambda ns: ns[1].role != "match")
