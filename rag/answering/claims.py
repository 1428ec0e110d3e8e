"""Whether a sentence's claims hold in a passage, beyond its words: what it counts, who does
what to whom, and what it denies.

Both texts are parsed (rag/models/parse.py) and compared on three things:
- counts: a number and the noun it counts ("50 states"). When the passage counts something
  with that number, the sentence must count the same thing ("50 countries" is refused);
- roles: each verb's subject, object and prepositional objects, by their head word (a passive
  read as its active: "was founded by X" makes X the subject). When the passage gives the
  same verb the same role, the sentence's filler must be one of the passage's, by the stem of
  its head word ("the Indian War" is "the French and Indian War"; "Conservatives", read as a
  noun, is "Conservatives" read as a name): a subject and object swapped, or a name put in
  another's place, is refused. A pronoun in the passage
  ("They sell ...") could be anyone, so it is not held against the sentence;
- polarity: a verb (or a noun after "no") the sentence denies must be denied somewhere in the
  passage, and one it affirms must be affirmed somewhere in it ("does not require" is not
  "requires"); a verb the sentence uses both ways must be used both ways in the passage.
A verb the passage does not use at all is not judged here: the sentence's words are
(rag/answering/check.py). Measured on mutated and faithful sentences by tools/mutations.py.
"""

from __future__ import annotations

from collections import defaultdict

from ..text import sentence_spans, stem

_SUBJECTS = {"nsubj", "csubj"}
_OBJECTS = {"dobj", "nsubjpass", "attr", "oprd"}
_NEGATIONS = {"not", "n't", "n’t", "never", "no", "nor", "neither", "without"}
_PRONOUNS = {"PRON"}


def _key(token) -> str:
    """An argument by its head word, a name with the names before it: "the cooperatives" ->
    "cooperative", "Baker County" -> "baker county"."""
    if token.pos_ != "PROPN":
        return token.lemma_.lower()
    return " ".join([c.text for c in token.children if c.dep_ == "compound" and c.pos_ == "PROPN"]
                    + [token.text]).lower()


def _head(key: str) -> str:
    """An argument compared by the stem of its last word: "indian war" and "war" are one."""
    return stem(key.rsplit(" ", 1)[-1]) if key else key


def _with_conjuncts(token) -> list:
    """The token and those joined to it by "and"/"or" ("50 states and 12 countries")."""
    return [token, *token.conjuncts]


def _verb(token):
    """The verb a token hangs from (itself when it is one): "not" in "not everyone could" or
    "no longer be" bears on the verb above it."""
    while token.pos_ not in ("VERB", "AUX") and token.head.i != token.i:
        token = token.head
    while token.dep_ in ("aux", "auxpass") and token.head.i != token.i:
        token = token.head
    return token


def roles(doc) -> dict[tuple[str, str], set[str]]:
    """(verb lemma, role) -> the head words that fill it; a role is "subject", "object" or a preposition."""
    out: dict[tuple[str, str], set[str]] = defaultdict(set)
    for t in doc:
        head = t.head
        if t.dep_ in _SUBJECTS:
            role = "subject"
        elif t.dep_ in _OBJECTS:
            role = "object"
        elif t.dep_ == "pobj" and head.dep_ == "agent":
            role, head = "subject", head.head  # "founded by X": X did it
        elif t.dep_ == "pobj" and head.dep_ == "prep" and head.head.pos_ not in ("ADP", "PUNCT"):
            role, head = head.lower_, head.head  # "sell in 50 states", "farmers in India", "the age of 18"
        elif t.dep_ == "compound" and head.pos_ == "NOUN" and t.pos_ == "PROPN":
            role = "name"  # "Pacific Ocean islands"
        elif t.dep_ == "poss" and t.pos_ == "PROPN":
            role = "owner"  # "Holden's plants"
        else:
            continue
        for filler in _with_conjuncts(t):
            out[(head.lemma_.lower(), role)].add("<pronoun>" if filler.pos_ in _PRONOUNS else _key(filler))
    return out


def counts(doc) -> dict[str, set[str]]:
    """number -> the nouns it counts ("50 states" -> {"50": {"state"}})."""
    out: dict[str, set[str]] = defaultdict(set)
    for t in doc:
        if t.dep_ == "nummod" and t.like_num:
            out[t.text.replace(",", "").lower()].add(t.head.lemma_.lower())
    return out


def _predicate(verb) -> str:
    """A verb by its lemma; "be" by what it says a thing is ("are not mutually exclusive" -> "be exclusive")."""
    if verb.lemma_ == "be":
        said = [c for c in verb.children if c.dep_ in ("acomp", "attr")]
        if said:
            return f"be {said[0].lemma_.lower()}"
    return verb.lemma_.lower()


def polarity(doc) -> dict[str, set[bool]]:
    """verb (or noun after "no") lemma -> whether each use of it is denied (True) or affirmed."""
    out: dict[str, set[bool]] = defaultdict(set)
    denied = {_verb(t.head).i for t in doc
              if t.dep_ == "neg" or t.lower_ in _NEGATIONS and t.dep_ in ("det", "preconj", "advmod")}
    for t in doc:
        if t.pos_ in ("VERB", "AUX") and t.dep_ not in ("aux", "auxpass"):
            out[_predicate(t)].add(t.i in denied)
        elif t.pos_ in ("NOUN", "PROPN") and any(c.lower_ == "no" and c.dep_ == "det" for c in t.children):
            out[t.lemma_.lower()].add(True)
    return out


def _union(parts: list[dict]) -> dict:
    out: dict = defaultdict(set)
    for part in parts:
        for k, v in part.items():
            out[k] |= v
    return out


def contradiction(sentence, passage: list) -> str | None:
    """Why the parsed `sentence` says what the `passage` (its sentences, each parsed) does not
    (module doc), or None. Each passage sentence is parsed on its own, as the sentence is, so
    the same words get the same parse."""
    have = _union([counts(p) for p in passage])
    for number, nouns in counts(sentence).items():
        if have.get(number) and not nouns & have[number]:
            return f"counts {number} {sorted(nouns)[0]}, where the passage counts {number} {sorted(have[number])[0]}"
    filled = _union([roles(p) for p in passage])
    for (verb, role), fillers in roles(sentence).items():
        known = filled.get((verb, role), set())
        if "<pronoun>" in known or not known:
            continue
        heads = {_head(k) for k in known}
        wrong = sorted(f for f in fillers - known if f != "<pronoun>" and _head(f) not in heads)
        if wrong:
            return f"says {wrong[0]} is the {role if role in ('subject', 'object') else role + '-object'} of " \
                   f"'{verb}', which the passage does not"
    said = _union([polarity(p) for p in passage])
    for verb, denied in polarity(sentence).items():
        if verb in said and not denied <= said[verb]:
            return f"{'denies' if True in denied else 'affirms'} '{verb}', which the passage " \
                   f"{'affirms' if True in denied else 'denies'}"
    return None


def checker(parser):
    """`contradiction` over texts, parsed by `parser` (rag/models/parse.py): what
    rag/answering/check.py calls."""
    return lambda sentence, passage: contradiction(parser.parse(sentence),
                                                   [parser.parse(passage[a:b]) for a, b in sentence_spans(passage)])
