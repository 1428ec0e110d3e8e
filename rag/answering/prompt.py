"""What the generator reads, and when its decoding stops.

The generator (SmolLM2) reads only the evidence sentences, one paragraph per passage tagged
with its number, and the question; it is asked for two or three short sentences. Decoding
stops after `MAX_SENTENCES` finished sentences or at the first repeat. Leaves out: which
sentences are evidence (rag/answering/evidence.py) and what is kept of the reply
(rag/answering/check.py).
"""

from __future__ import annotations

from ..text import sentence_spans
from .check import sentences

SYSTEM = ("Answer the question using only the numbered passages. Write two or three short "
          "sentences. After each sentence, cite the passage it comes from, like [1].")
MAX_SENTENCES = 3


def render(selected: list[tuple[int, str]]) -> str:
    """One paragraph per passage, "[n] sentence sentence", in order of first appearance.
    (One line per sentence made the model echo the list back, line by line.)"""
    groups: dict[int, list[str]] = {}
    for n, sentence in selected:
        groups.setdefault(n, []).append(sentence)
    return "\n\n".join(f"[{n}] " + " ".join(sentences) for n, sentences in groups.items())


def prompt(question: str, selected: list[tuple[int, str]]) -> list[dict]:
    return [{"role": "system", "content": SYSTEM},
            {"role": "user", "content": f"{render(selected)}\n\nQuestion: {question}"}]


def enough(text: str) -> bool:
    """Stop decoding after MAX_SENTENCES finished sentences or lines, or at the first repeat."""
    finished = [text[s:e] for s, e in sentence_spans(text)[:-1]]
    kept = sentences("\n".join(finished))
    said = [f for f in finished if sentences(f)]  # "The answer is:" alone says nothing yet
    return len(kept) >= MAX_SENTENCES or len(kept) < len(said)
