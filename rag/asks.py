"""What a question asks for (a number, a date or a length of time, a person) and whether a
text states one: cheap patterns standing in for a named-entity tagger.

Used by rag/evidence.py (a date line for "when was it published?") and rag/abstain.py (a
question whose kind of answer the evidence does not state is refused). spaCy's small English
pipeline installs offline, but it tags "Law" as a person and misses "Mata Traders"; these
patterns cover the question kinds of the seed development set and SQuAD train.jsonl, and
the tests pin each one.
"""

from __future__ import annotations

import re

from .text import names, numbers, stem, terms

_NUMBER_Q = re.compile(r"^(how (many|much)|what (number|percentage|percent|amount|proportion))\b|"
                       r"\b(how (many|much)|what (number|percentage|amount) of)\b", re.I)
_DATE_Q = re.compile(r"^when\b|\b(what|which) (year|date|day|month|century|decade|time period)\b|"
                     r"\bin (what|which) (year|century|decade)\b|\bhow long\b|\bhow old\b|\bsince when\b", re.I)
# "who" did something, in the past tense, asks for its agent, a name ("Who founded ...?", "Who
# wrote ...?"); "who are ...", "who repairs ..." and "whom did ... blame" may be answered by a
# description or a group
_PERSON_Q = re.compile(r"^who (\w+ed|wrote|made|built|began|led|won|gave|took|said|ran|came up with|"
                       r"came up|set up|drew|sang|spoke|found|invented|discovered)\b|\b(by whom|which person)\b",
                       re.I)
_NUMBER_WORDS = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|"
                           r"hundreds?|thousands?|millions?|billions?|several|half|quarter)\b", re.I)
DATE = re.compile(r"\b(1[5-9]|20)\d\d\b|\b\d+(st|nd|rd|th)? (century|centuries)\b|\b\d+s\b|"
                  r"\b(january|february|march|april|may(?= \d)|june|july|august|september|october|november|"
                  r"december)\b|\b\d+ (years?|months?|weeks?|days?|decades?|hours?)\b|"
                  r"\b(years?|decades?|centuries) (ago|later|before|after)\b", re.I)


def asked_type(question: str) -> str | None:
    """What the question asks for: "number", "date" (or a length of time), "person", or None."""
    if _NUMBER_Q.search(question):
        return "number"
    if _DATE_Q.search(question):
        return "date"
    if _PERSON_Q.search(question):
        return "person"
    return None


def holds_type(kind: str | None, text: str, question: str = "") -> bool:
    """Whether `text` states something of the kind asked for (a cheap stand-in for NER)."""
    if kind is None:
        return True
    if kind == "date":
        return bool(DATE.search(text))
    if kind == "number":
        return bool(numbers(text) - numbers(question) or _NUMBER_WORDS.search(text))
    asked = terms(question)
    return any(stem(n) not in asked for n in names(text))


_PLACE = re.compile(r"\b(?:in|at) ((?:[A-Z][\w'’-]+ ?)+)")


def places(text: str) -> set[str]:
    """Capitalised names after "in" or "at": where something is said to be ("in Chicago")."""
    return {w.lower() for m in _PLACE.finditer(text) for w in m.group(1).split()}


def conflicts(question: str, text: str) -> bool:
    """Whether `text` states its fact for another place than the one the question asks about
    ("How many artisans ... in Chicago?" / "... 1000 women artisans in India and Nepal")."""
    asked = places(question)
    return bool(asked and places(text) and not asked & set(re.findall(r"\w+", text.lower())))
