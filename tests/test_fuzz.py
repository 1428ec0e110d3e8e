"""Property tests (hypothesis): the chunker and the ingest of arbitrary input."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.ingest.chunk import chunk_document, count_tokens
from rag.ingest.read import SUFFIXES, normalize, read_document
from rag.types import Document

TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=1500) | st.text(
    "abc déf 日本語 🙂.!?\n «»אבג", max_size=1500)


@settings(max_examples=150, deadline=None)
@given(TEXT, st.integers(8, 64), st.integers(0, 7))
def test_chunks_hold_exact_offsets_cover_every_character_and_are_never_empty(raw, size, overlap):
    text = normalize(raw)
    doc = Document("d", "t", text, "d.txt", "0")
    chunks = chunk_document(doc, size, overlap)
    covered = set()
    for c in chunks:
        assert 0 <= c.start < c.end <= len(text) and text[c.start:c.end] == c.text
        assert c.text.strip()
        assert count_tokens(c.text) <= size + 1
        covered.update(range(c.start, c.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())
    assert all(b.start > a.start for a, b in zip(chunks, chunks[1:], strict=False))  # always progress


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=4000) | st.builds(lambda b: b"%PDF-1.4\n" + b, st.binary(max_size=2000))
       | st.builds(lambda s: s.encode(), st.text(max_size=2000)), st.sampled_from(SUFFIXES))
def test_any_bytes_are_read_or_refused_with_a_reason(raw, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"doc{suffix}"
        path.write_bytes(raw)
        try:
            doc = read_document(path)
        except ValueError as e:
            assert str(e)  # a reason
        else:
            assert doc.text and doc.text == doc.text.strip() and doc.title
