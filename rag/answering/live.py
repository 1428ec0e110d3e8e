"""The generator's answer checked while it is written, so that only checked words are shown.

Each sentence is checked (rag/answering/check.py `Attacher`) as soon as it is complete. The
checked sentences are held back until together they carry the evidence (rag/answering/quote.py
`carries`, which only more sentences can make true); then they are released, and from there on
each sentence that passes is released the moment it does. When the generation ends without
carrying the evidence nothing was released, and the evidence is quoted in its place
(`quote.settle`). Nothing released is taken back: the answer's text is the released pieces, in order.

Leaves out: the checks themselves, the generator, and how the pieces are shown (ui/).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..types import Hit, Statement
from .check import Attacher, Checked, Sentences
from .evidence import Sentence
from .question import Question
from .quote import carries, settle


def pieces(statements: list[Statement], notice: str = "") -> list[str]:
    """The answer's text (`notice` + `check.joined(statements)`) as one piece per sentence."""
    return [(notice if i == 0 else " ") + f"{s.text} [{s.n}]" for i, s in enumerate(statements)]


class Live:
    """Feed it the generated text as it comes; it returns the pieces of checked text to show."""

    def __init__(self, q: Question, evidence: list[tuple[int, Sentence]], sources: list[Hit],
                 encode: Callable[[list[str]], np.ndarray], passage_vecs: np.ndarray, contradiction=None,
                 notice: str = "") -> None:
        self.q, self.evidence, self.sources, self.encode, self.notice = q, evidence, sources, encode, notice
        self._split = Sentences()
        self._attacher = Attacher(sources, passage_vecs, q, contradiction)
        self._released = 0  # statements shown so far
        self.seconds = 0.0  # spent checking

    def feed(self, text: str) -> list[str]:
        """The pieces of checked text that `text`, written since the last call, lets show."""
        return self._check(self._split.feed(text))

    def close(self) -> tuple[Checked, list[str]]:
        """Once the generator is done: the answer, and the pieces of it not shown yet (all of
        them when it is the evidence quoted)."""
        shown = self._check(self._split.feed("", final=True))
        checked = self._attacher.result()
        if self._released:
            return checked, shown
        t = time.perf_counter()
        settled = settle(checked, self.evidence, self.sources, self.q)
        self.seconds += time.perf_counter() - t
        return settled, pieces(settled.statements, self.notice)

    def _check(self, written: list[str]) -> list[str]:
        t = time.perf_counter()
        for sentence in written:
            self._attacher.add(sentence, self.encode([sentence])[0])
        self.seconds += time.perf_counter() - t
        kept = self._attacher.kept
        if len(kept) == self._released or not carries(kept, [e for _, e in self.evidence], self.q):
            return []
        out = pieces(kept, self.notice)[self._released:]
        self._released = len(kept)
        return out
