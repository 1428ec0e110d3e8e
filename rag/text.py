"""Small text helpers shared by the abstention and citation checks: content terms,
numbers and names. Pure functions, no models."""

from __future__ import annotations

import re

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
many much may might must shall upon via per whose within without yet let lets get got
tell say says said give describe explain according document documents text passage passages
context question answer mentioned mention one two use used using make makes made well
""".split())

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)*")


def stem(word: str) -> str:
    """A crude suffix stripper: enough to match 'towns' with 'town', 'localized' with
    'localize'. Not a linguistic stemmer."""
    word = re.sub(r"['’](s|d|ll|re|ve|t)$", "", word)
    for suffix in ("ations", "ation", "ities", "ings", "ing", "ies", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    """Content words of `text`, lower case, stopwords left out, in order."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


def terms(text: str) -> set[str]:
    """Stemmed content words of `text`."""
    return {stem(w) for w in words(text)}


def numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def names(text: str) -> set[str]:
    """Capitalised words not at the start of a sentence: a cheap stand-in for proper names."""
    found = set()
    for sentence in re.split(r"(?<=[.!?])\s+|\n", text):
        for m in _NAME.finditer(sentence.strip()):
            for word in m.group().split():
                if word.lower() not in STOPWORDS:
                    found.add(word.lower())
    return found
