"""Read a misspelled question word as the word of the documents it was meant to be.

A question word is corrected when the documents do not hold it, English does not know it
(symspellpy's 82,765-word frequency list) and it is at most `edits` edits (Damerau, as
SymSpell counts them) from a word the documents do hold: "Pelquart" -> "Pelqurat",
"coperatives" -> "cooperatives", "Varnase" -> "Varnasse". Of several such words, the closest, then the
most frequent, wins. Words far from every document word stay as they are, so a question
about something the documents never mention is still refused as such. The vocabulary is
built from the indexed documents' text (`Vocabulary.of`) and rebuilt with the index.
Leaves out: where the corrected text goes (rag/pipeline.py reads the question from it and
says what was read).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

from ..text import STOPWORDS, names

MIN_LENGTH = 4  # shorter words are too close to too many others to be corrected safely
_WORD = re.compile(r"[A-Za-z]+(?![A-Za-z]*['’]t\b)")  # not the "couldn" of "couldn't"
# a known word behind one of these is a derived word ("rebranded"), not a misspelling
_PREFIX = re.compile(r"^(re|un|non|pre|co|anti|over|under|sub|inter|mis|multi|post|self)-?(?=\w{4})")


def edits(word: str) -> int:
    """How many edits a word of this length may be from the word it is read as."""
    return 1 if len(word) <= 6 else 2


@cache
def english() -> frozenset[str]:
    """English words (symspellpy's frequency dictionary), lower case."""
    from importlib.resources import files

    text = (files("symspellpy") / "frequency_dictionary_en_82_765.txt").read_text(encoding="utf-8")
    return frozenset(line.split(" ", 1)[0] for line in text.splitlines() if line)


@dataclass(frozen=True)
class Vocabulary:
    counts: Counter  # lower-case word -> how often the documents use it
    forms: dict[str, str]  # lower-case word -> its commonest spelling in the documents ("pelqurat" -> "Pelqurat"),
    # which a name keeps even when the question writes it in lower case
    names: frozenset[str]  # words the documents capitalise inside a sentence (rag/text.py `names`), lower case
    speller: object  # symspellpy.SymSpell over `counts`

    @classmethod
    def of(cls, texts) -> Vocabulary:
        from symspellpy import SymSpell

        spelled: Counter = Counter()
        capitalised: set[str] = set()
        for text in texts:
            spelled.update(w for w in _WORD.findall(text) if len(w) >= 3)
            capitalised |= names(text)
        counts: Counter = Counter()
        forms: dict[str, str] = {}
        for form, n in spelled.most_common():
            counts[form.lower()] += n
            forms.setdefault(form.lower(), form)
        speller = SymSpell(max_dictionary_edit_distance=2, prefix_length=7)
        for word, n in counts.items():
            speller.create_dictionary_entry(word, n)
        return cls(counts, forms, frozenset(capitalised), speller)

    def knows(self, low: str) -> bool:
        """Whether `low` (lower case) is a word of the documents or of English, or one derived from one."""
        if low in self.counts or low in english() or low in STOPWORDS:
            return True
        base = _PREFIX.sub("", low)
        return base != low and (base in self.counts or base in english())

    def meant(self, word: str) -> str | None:
        """The document word `word` is a misspelling of, or None (known, or far from everything)."""
        low = word.lower()
        if len(low) < MIN_LENGTH or self.knows(low):
            return None
        from symspellpy import Verbosity

        found = self.speller.lookup(low, Verbosity.CLOSEST, max_edit_distance=edits(low))
        if not found:
            return None
        best = max(found, key=lambda s: (-s.distance, s.count))
        form = self.forms[best.term]
        if word[0].isupper():
            return form[0].upper() + form[1:]
        return form if best.term in self.names else best.term


def correct(text: str, vocabulary: Vocabulary) -> tuple[str, tuple[tuple[str, str], ...]]:
    """`text` with its misspelled words replaced, and the (as written, as read) pairs."""
    fixes: dict[str, str] = {}

    def fix(m: re.Match) -> str:
        meant = vocabulary.meant(m.group())
        if meant is None or meant == m.group():
            return m.group()
        fixes[m.group()] = meant
        return meant

    fixed = _WORD.sub(fix, text)
    return fixed, tuple(fixes.items())


def notice(corrections: tuple[tuple[str, str], ...]) -> str:
    """What the answer says it read: '(Read "Pelquart" as "Pelqurat".) '."""
    if not corrections:
        return ""
    return "(Read " + ", ".join(f'"{a}" as "{b}"' for a, b in corrections) + ".) "
