"""The one text module: sentences, words, stems, stopwords, numbers and names.

Every stage reads text through these functions (chunking, evidence, refusal, the citation
check, BM25 and the metrics), so a word is the same word everywhere:

- `sentence_spans`: a sentence ends after . ! ? or … (optionally closed by quotes or
  brackets) before white space, unless a lower-case letter follows on the same line (an
  abbreviation: "e.g. a fee", "the U.S. state of", "Pharm. D.) degree"), and at every line
  end (titles, list items and paragraphs carry no full stop);
- `words`: lower-cased content words, `STOPWORDS` left out; `stem`: Snowball English
  (PyStemmer), the stemmer BM25 uses; `terms`: the stems of a text's words;
- `tokenize`: BM25's tokens (bm25s' word pattern, `LUCENE_STOPWORDS` left out, stemmed),
  and `stems`: the same without the rest of `STOPWORDS`.

Pure functions, no models. Leaves out: parsing (no tagger; rag/answering/question.py reads
what a question asks for from patterns).
"""

from __future__ import annotations

import functools
import re
import threading

# Lucene's classic English stopwords: what BM25 drops (rag/storage/bm25.py; its parameters
# were tuned with them). The rest of STOPWORDS is function words and the filler of questions
# ("describe", "according to the document"), which say nothing of what is asked.
LUCENE_STOPWORDS = frozenset("""
a an and are as at be but by for if in into is it no not of on or such that the their then
there these they this to was will with
""".split())
STOPWORDS = LUCENE_STOPWORDS | frozenset("""
about above after again against all also am any because been before being below between both
can could did do does doing down during each few from further had has have having he her here
hers herself him himself his how i its itself just me more most my myself nor now off once only
other our ours ourselves out over own same she should so some than theirs them themselves those
through too under until up very we were what when where which while who whom why would you
your yours yourself yourselves many much may might must shall upon via per whose within without
yet let lets get got tell say says said give describe explain according document documents text
passage passages context question answer mentioned mention one two use used using make makes
made well
""".split())

SENTENCES = 3  # where `sentence_spans` ends sentences, versioned: indexes record it (2: not before a lower-case
# word; 3: not after a title or an initial)
# a full stop after these is an abbreviation's ("Dr. Smith", "St. Louis", "No. 5", "John F. Kennedy"), not an end;
# "U.S.", "Jr." and "Inc." end sentences too often to be listed, "I" is also a numeral ("World War I.")
_ABBREVIATION = (r"(?<!\s[A-HJ-Z])(?<!^[A-HJ-Z])(?<!\b(?:Mr|Ms|Dr|St|No|Mt|Ft|Lt|vs))"
                 r"(?<!\b(?:Mrs|Rev|Gen|Col|Sgt|Gov|Fig))(?<!\b(?:Capt|Prof|Sept))")
_SENTENCE_END = re.compile(r"(?:[!?…]|" + _ABBREVIATION + r"\.)[\"'”’)\]]*(?=[^\S\n]+[^a-z\s])|(?=\n)")
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")
_NAME = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z]+(?:\s+[A-Z][a-zA-Z]+)*")
_local = threading.local()  # a PyStemmer object is not to be shared between threads


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, trimmed of surrounding white space."""
    spans, start = [], 0
    for m in _SENTENCE_END.finditer(text):
        spans.append((start, m.end()))
        start = m.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        if e > s:
            out.append((s, e))
    return out


def sentences(text: str) -> list[str]:
    return [text[s:e] for s, e in sentence_spans(text)]


def stemmer():
    """This thread's Snowball English stemmer (PyStemmer)."""
    if not hasattr(_local, "stemmer"):
        import Stemmer

        _local.stemmer = Stemmer.Stemmer("english")
    return _local.stemmer


@functools.lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """Snowball English: 'towns' -> 'town', 'localized' and 'localization' -> 'local'."""
    return stemmer().stemWord(word.replace("’", "'"))


def words(text: str) -> list[str]:
    """Content words of `text`, lower case, stopwords left out, in order."""
    return [w for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


def terms(text: str) -> set[str]:
    """Stemmed content words of `text`."""
    return {stem(w) for w in words(text)}


def tokenize(texts: list[str]) -> list[list[str]]:
    """BM25's tokens of each text: bm25s' words, Lucene's stopwords left out, stemmed."""
    import bm25s

    return bm25s.tokenize(texts, stopwords=sorted(LUCENE_STOPWORDS), stemmer=stemmer(), return_ids=False,
                          show_progress=False)


@functools.cache
def _dropped() -> frozenset[str]:
    return frozenset(tokenize([" ".join(sorted(STOPWORDS))])[0])


def stems(texts: list[str]) -> list[list[str]]:
    """Each text's BM25 tokens without the rest of `STOPWORDS` ("who", "describe", "according")."""
    if not texts:
        return []
    drop = _dropped()
    return [[t for t in ws if t not in drop] for ws in tokenize(texts)]


def numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def names(text: str) -> set[str]:
    """Capitalised words not at the start of a sentence: a cheap stand-in for proper names."""
    found = set()
    for sentence in sentences(text):
        for m in _NAME.finditer(sentence):
            for word in m.group().split():
                if word.lower() not in STOPWORDS:
                    found.add(word.lower())
    return found
