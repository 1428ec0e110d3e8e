"""The question, read once: its words, stems, names, numbers, what kind of answer it asks
for, and whether it follows up on the conversation (`read` -> `Question`).

Every later stage (evidence, refusal, the check) reads this record instead of the raw text.
What a question asks for (a number, a date or a length of time, a person) and whether a text
states one are cheap patterns standing in for a named-entity tagger: spaCy's small English
pipeline installs offline, but it tags "Law" as a person and misses "Mata Traders"; these
patterns cover the question kinds of the seed development set and SQuAD train.jsonl.
Leaves out: the answer's text (rag/answering/check.py checks it against the passages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import QuestionError
from ..text import STOPWORDS, names, numbers, sentences, stem, stems, terms, words

_FOLLOW_UP = re.compile(r"\b(it|its|they|them|their|this|that|these|those|he|she|his|her)\b", re.I)
_WHY = re.compile(r"^(why|for what reason|what (is|was|are|were) the reasons?)\b|\bhow come\b", re.I)
_LIST_QUESTION = re.compile(r"\b(what|which) (kinds?|types?|sorts?|forms?|ways?|goals?|things?|examples?|reasons?|"
                            r"factors?|items?|areas?)\b|\b(list|enumerate)\b|\bwhich \w+s\b", re.I)
_TWO_PARTS = re.compile(r",? and (what|why|how|when|where|who|which)\b|\beach\b|\bboth\b", re.I)
NEGATION = re.compile(r"\b(not|never|no|none|neither|nor|without|cannot)\b|n't\b", re.I)


@dataclass(frozen=True)
class Question:
    text: str  # the question as asked, cleaned (control characters out, at most the limit); a follow-up as
    # resolved against the conversation (`resolve`)
    truncated: bool  # it was longer than the limit and was cut
    query: str  # what retrieval searches: a follow-up carries the previous question with it
    words: tuple[str, ...]  # content words, lower case, in order (rag/text.py `words`)
    terms: frozenset[str]  # their stems
    tokens: tuple[str, ...]  # BM25's stems without question words (rag/text.py `stems`): weighed by IDF
    names: frozenset[str]  # capitalised words inside the question (lower case)
    numbers: frozenset[str]
    places: frozenset[str]  # names after "in" or "at": where the question asks about
    asks: str | None  # "number", "date" (or a length of time), "person", or None
    kind: str | None  # the kind of answer asked for, finer (`asked_kind`): what the entity tags are matched with
    why: bool  # asks for a reason
    lists: bool  # asks for several things ("what kinds", "which ...s")
    two_parts: bool  # asks two things, or of two subjects ("..., and what ...", "both")
    negated: bool  # says "not", "never", "no" ...
    corrections: tuple[tuple[str, str], ...] = ()  # misspelled words read as the documents' words (spelling.py)

    @property
    def follow_up(self) -> bool:
        return self.query != self.text


def clean(question: str, limit: int) -> tuple[str, bool]:
    """The question with control characters removed and at most `limit` characters;
    raises QuestionError when nothing is left. Returns (question, truncated)."""
    if not isinstance(question, str):
        raise QuestionError(f"the question must be text, not {type(question).__name__}")
    q = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", " ", question)
    q = re.sub(r"\s+", " ", q).strip()
    if not q:
        raise QuestionError("the question is empty: type a question about the documents")
    return (q[:limit].rsplit(" ", 1)[0] or q[:limit], True) if len(q) > limit else (q, False)


def search_query(question: str, history: list[tuple[str, str]] | None) -> str:
    """A standalone query: a follow-up that points back ("its", "they") or names nothing
    ("Why?") carries the previous question with it."""
    if history and (_FOLLOW_UP.search(question) or not terms(question)):
        return f"{history[-1][0]} {question}"
    return question


_REFERS = re.compile(r"\b(its|their|his|her|it|they|them|he|she|him)\b", re.I)
_POSSESSIVE = {"its", "their", "his", "her"}
_NAME_RUN = re.compile(r"\b[a-z]*[A-Z][\w’'-]*(?:\s+[A-Z][\w’'-]*)*")  # "eBird", "NASA", "Odile Varnasse"


def subject(question: str, answer: str = "") -> str | None:
    """The main name of a turn of the conversation: the first name its question holds, else
    the first its answer's first sentence holds ("What does Pelqurat do?" -> "Pelqurat")."""
    for text in (question, (sentences(answer) or [""])[0]):
        for m in _NAME_RUN.finditer(text):
            name = re.sub(r"['’]s$", "", m.group())
            while name and name.split()[0].lower() in STOPWORDS:  # "What", "According", "The"
                name = " ".join(name.split()[1:])
            if name:
                return name
    return None


def resolve(question: str, history: list[tuple[str, str]] | None) -> str:
    """A follow-up read as a question of its own: a pronoun that points back ("its", "they")
    is replaced by the last turn's main name ("Where are their workshops?" after "What is
    Pelqurat?" -> "Where are Pelqurat's workshops?"); a question that names nothing ("Why?", "And where?") is
    read with the question it follows."""
    if not history:
        return question
    name = subject(*history[-1])
    if name is not None and _REFERS.search(question) and name.lower() not in question.lower():
        owner = f"{name}’" if name[-1] in "sS" else f"{name}'s"  # "NASA's rockets", "Tamsvillers’ members"
        return _REFERS.sub(lambda m: owner if m.group().lower() in _POSSESSIVE else name, question)
    return f"{question} {history[-1][0]}" if not terms(question) else question


def read(question: str, history: list[tuple[str, str]] | None = None, limit: int = 2000,
         corrections: tuple[tuple[str, str], ...] = ()) -> Question:
    """Analyse `question` (asked after `history`, the (question, answer) pairs so far) once;
    `corrections`: the words already corrected in it (as written, as read). A follow-up is
    read as a question of its own (`resolve`)."""
    text, truncated = clean(question, limit)
    text = resolve(text, history)
    return Question(text, truncated, search_query(text, history), tuple(words(text)), frozenset(terms(text)),
                    tuple(stems([text])[0]), frozenset(names(text)), frozenset(numbers(text)),
                    frozenset(places(text)), asked_type(text), asked_kind(text), bool(_WHY.search(text)),
                    bool(_LIST_QUESTION.search(text)), bool(_TWO_PARTS.search(text)),
                    bool(NEGATION.search(text)), corrections)


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


# the kind of answer a question asks for, read off its question words; in rag/models/entities.py's kinds
_KIND_Q = [("percent", re.compile(r"\bwhat (percentage|percent|proportion|share)\b|\bhow much of\b", re.I)),
           ("money", re.compile(r"\bhow much (money|did|does|do|was|is|were|are|would|will|has|have)\b|"
                                r"\b(cost|price|paid|pay|earn|worth|salary|budget|revenue|income)\b", re.I)),
           ("number", _NUMBER_Q),
           ("date", _DATE_Q),
           ("place", re.compile(r"^where\b|\b(in|from|to) where\b|\b(what|which) (country|city|state|region|"
                                r"place|continent|town|area|location|nation)\b", re.I)),
           ("organisation", re.compile(r"\b(what|which) (company|organi[sz]ation|group|agency|university|"
                                       r"institution|party|team|firm|body)\b", re.I)),
           # "who did ..." asks for a name; "who are the ...?" may be answered by a description
           ("person", re.compile(_PERSON_Q.pattern + r"|^whom?\b(?! (is|are|was|were)\b)|\b(to whom|whose)\b",
                                 re.I)),
           ("reason", _WHY),
           ("definition", re.compile(r"^(what|who) (is|are|was|were) (an? |the )?[\w' -]{1,40}\?$|"
                                     r"\b(define|definition|meaning of|what does .{1,40} mean)\b", re.I))]
KINDS = tuple(k for k, _ in _KIND_Q)


def asked_kind(question: str) -> str | None:
    """The kind of answer asked for: a percent, money, number, date, place, organisation,
    person, reason or definition (`KINDS`), or None (a "what" or "how" question of no kind)."""
    return next((k for k, pattern in _KIND_Q if pattern.search(question)), None)


def holds_type(q: Question, text: str) -> bool:
    """Whether `text` states something of the kind `q` asks for (a cheap stand-in for NER)."""
    if q.asks is None:
        return True
    if q.asks == "date":
        return bool(DATE.search(text))
    if q.asks == "number":
        return bool(numbers(text) - q.numbers or _NUMBER_WORDS.search(text))
    return any(stem(n) not in q.terms for n in names(text))


_PLACE = re.compile(r"\b(?:in|at) ((?:[A-Z][\w'’-]+ ?)+)")


def places(text: str) -> set[str]:
    """Capitalised names after "in" or "at": where something is said to be ("in Chicago")."""
    return {w.lower() for m in _PLACE.finditer(text) for w in m.group(1).split()}


def conflicts(q: Question, text: str) -> bool:
    """Whether `text` states its fact for another place than the one `q` asks about
    ("How many artisans ... in Chicago?" / "... 1000 women artisans in India and Nepal")."""
    return bool(q.places and places(text) and not q.places & set(re.findall(r"\w+", text.lower())))
