"""Whether a sentence's claims hold in a passage, beyond its words: what it counts, who does
what to whom, and what it denies.

Both texts are parsed (rag/models/parse.py) and compared on three things:
- counts: a number and the noun it counts ("50 states"). When the passage counts something
  with that number, the sentence must count the same thing ("50 countries" is refused);
- roles: each verb's subject, object and prepositional objects, by their head word (a passive
  read as its active: "was founded by X" makes X the subject). When the passage gives the
  same verb the same role, the sentence's filler must be one of the passage's (a subject and
  object swapped, or a name put in another's place, is refused). A pronoun in the passage
  ("They sell ...") could be anyone, so it is not held against the sentence;
- polarity: a verb (or a noun after "no") the sentence denies must be denied somewhere in the
  passage, and one it affirms must be affirmed somewhere in it ("does not require" is not
  "requires").
A verb the passage does not use at all is not judged here: the sentence's words are
(rag/answering/check.py). Measured on mutated and faithful sentences by tools/mutations.py.
"""

from __future__ import annotations

from collections import defaultdict

_SUBJECTS = {"nsubj", "csubj"}
_OBJECTS = {"dobj", "nsubjpass", "attr", "oprd"}
_NEGATIONS = {"not", "n't", "never", "no", "nor", "neither", "without"}
_PRONOUNS = {"PRON"}


def _key(token) -> str:
    """An argument by its head word: "Odile Varnasse" -> "varnasse", "the cooperatives" -> "cooperative"."""
    return (token.lemma_ if token.pos_ != "PROPN" else token.text).lower()


def _with_conjuncts(token) -> list:
    """The token and those joined to it by "and"/"or" ("50 states and 12 countries")."""
    return [token, *token.conjuncts]


def _verb(token):
    """The verb a token hangs from (itself when it is one), climbing auxiliaries and conjunctions."""
    while token.dep_ in ("aux", "auxpass", "conj", "xcomp") and token.head is not token and token.pos_ != "VERB":
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
        elif t.dep_ == "pobj" and head.dep_ == "prep" and head.head.pos_ in ("VERB", "AUX"):
            role, head = head.lower_, head.head
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


def polarity(doc) -> dict[str, set[bool]]:
    """verb (or noun after "no") lemma -> whether each use of it is denied (True) or affirmed."""
    out: dict[str, set[bool]] = defaultdict(set)
    denied = {_verb(t.head).i for t in doc if t.lower_ in _NEGATIONS and t.dep_ in ("neg", "det", "preconj", "advmod")}
    for t in doc:
        if t.pos_ in ("VERB", "AUX") and t.dep_ not in ("aux", "auxpass"):
            out[t.lemma_.lower()].add(t.i in denied)
        elif t.pos_ in ("NOUN", "PROPN") and any(c.lower_ == "no" and c.dep_ == "det" for c in t.children):
            out[t.lemma_.lower()].add(True)
    return out


def contradiction(sentence, passage) -> str | None:
    """Why the parsed `sentence` says what the parsed `passage` does not (module doc), or None."""
    have = counts(passage)
    for number, nouns in counts(sentence).items():
        if have.get(number) and not nouns & have[number]:
            return f"counts {number} {sorted(nouns)[0]}, where the passage counts {number} {sorted(have[number])[0]}"
    filled = roles(passage)
    for (verb, role), fillers in roles(sentence).items():
        known = filled.get((verb, role), set())
        if "<pronoun>" in known or not known:
            continue
        wrong = sorted(f for f in fillers - known if f != "<pronoun>")
        if wrong:
            return f"says {wrong[0]} is the {role if role in ('subject', 'object') else role + '-object'} of " \
                   f"'{verb}', which the passage does not"
    said = polarity(passage)
    for verb, denied in polarity(sentence).items():
        if verb in said and not denied & said[verb]:
            return f"{'denies' if True in denied else 'affirms'} '{verb}', which the passage " \
                   f"{'affirms' if True in denied else 'denies'}"
    return None


def checker(parser):
    """`contradiction` over texts, parsed by `parser` (rag/models/parse.py): what
    rag/answering/check.py calls."""
    return lambda sentence, passage: contradiction(parser.parse(sentence), parser.parse(passage))
