"""The generator is never the only road to an answer: what survives the check
(rag/answering/check.py) must also carry the evidence it was given, that is hold at least
`CARRIES` of the words the best evidence sentence adds to the question (and, for a list, of
every listed sentence). When it does not (it restated the question, picked the wrong
sentence, dropped list items, or nothing survived), the answer quotes the evidence verbatim,
each sentence with its [n]: `Statement.quoted` says which sentences are quotes.
"""

from __future__ import annotations

from ..text import terms
from ..types import Hit, Removed, Statement
from .check import Checked, cited, joined
from .evidence import Sentence
from .question import Question

CARRIES = 0.6  # share of the evidence's new words a generated answer must hold to stand for it


def new_words(text: str, q: Question) -> set[str]:
    """The terms of `text` that the question does not hold: what it adds to what was asked."""
    return set(terms(text)) - q.terms


def carries(statements: list[Statement], evidence: list[Sentence], q: Question) -> bool:
    """Whether the generated `statements` say what the evidence says (module doc): they add to
    the question, and hold most of what the best sentence (with what completes it, when it
    only restates the question) and every listed item add to it."""
    said = new_words(" ".join(s.text for s in statements), q)
    if not said:
        return False  # nothing generated, or the question said back
    best = [new_words(e.text, q) for e in evidence if e.role == "match"]
    if best and not best[0]:
        best = [set().union(*(new_words(e.text, q) for e in evidence if e.role in ("match", "next", "previous")))]
    needed = best + [new_words(e.text, q) for e in evidence if e.role in ("list", "dated")]
    return all(len(n & said) >= CARRIES * len(n) for n in needed)


def quote(evidence: list[tuple[int, Sentence]], sources: list[Hit]) -> Checked:
    """The evidence sentences verbatim, each with the number of its passage in `sources`."""
    statements, spans = [], {}
    if len(evidence) > 1 and evidence[-1][1].text.rstrip().endswith(":"):
        evidence = evidence[:-1]  # a list's lead-in without its items says nothing: never end on "are:"
    for n, e in evidence:
        statements.append(Statement(" ".join(e.text.split()), n, quoted=True))
        spans.setdefault(n, set()).add((e.start, e.end))
    citations = [cited(sources[n - 1], n, spans=tuple(sorted(spans[n]))) for n in sorted(spans)]
    return Checked(joined(statements), citations, [], statements)


def settle(checked: Checked, evidence: list[tuple[int, Sentence]], sources: list[Hit], q: Question) -> Checked:
    """The generated answer when it passed the check and carries the evidence; else the
    evidence quoted (what the generator wrote and lost stays in `dropped`)."""
    if carries(checked.statements, [e for _, e in evidence], q):
        return checked
    dropped = checked.dropped + [Removed(s.text, "leaves out what the passage says; quoted instead")
                                 for s in checked.statements]
    quoted = quote(evidence, sources)
    return Checked(quoted.text, quoted.citations, dropped, quoted.statements)
