import random

import pytest

from rag.ingest.chunk import chunk_document, count_tokens, encoding
from rag.ingest.read import load_folder
from rag.text import sentence_spans
from rag.types import Document
from tests.test_ingest import SEEDS


def doc(text: str) -> Document:
    return Document("d", "t", text, "d.txt", "0")


def test_offsets_hold_on_the_seeds():
    docs, _ = load_folder(SEEDS)
    for d in docs:
        chunks = chunk_document(d, 160, 32)
        assert chunks
        for c in chunks:
            assert d.text[c.start : c.end] == c.text
            assert count_tokens(c.text) <= 160
        # every character of the document is in some chunk (white space between aside)
        covered = set()
        for c in chunks:
            covered.update(range(c.start, c.end))
        assert all(i in covered for i, ch in enumerate(d.text) if not ch.isspace())


def test_chunks_end_on_sentences_and_overlap():
    sentences = [f"Sentence number {i} talks about local trade and global markets." for i in range(40)]
    d = doc(" ".join(sentences))
    chunks = chunk_document(d, 60, 15)
    assert len(chunks) > 3
    for a, b in zip(chunks, chunks[1:], strict=False):
        assert a.text.endswith(".")
        assert b.start < a.end  # overlap
        assert b.start > a.start  # progress


def test_a_sentence_longer_than_a_window_is_cut():
    d = doc("word " * 500 + "end.")
    chunks = chunk_document(d, 50, 10)
    assert len(chunks) >= 10
    for c in chunks:
        assert d.text[c.start : c.end] == c.text
        assert count_tokens(c.text) <= 51


def test_random_unicode_text_keeps_offsets():
    rng = random.Random(5)
    alphabet = "abc déf 日本語 🙂. \n!?«»"
    text = "".join(rng.choice(alphabet) for _ in range(3000)).strip() or "x"
    d = doc(text)
    for c in chunk_document(d, 17, 5):
        assert c.text and d.text[c.start : c.end] == c.text


def test_sentence_spans_split_lines_and_stops():
    text = "Title line\nFirst one. Second one! Third?  "
    assert [text[s:e] for s, e in sentence_spans(text)] == ["Title line", "First one.", "Second one!", "Third?"]


def test_bad_overlap_is_rejected():
    with pytest.raises(ValueError):
        chunk_document(doc("a."), 10, 10)


def test_matches_tiktoken_reference():
    assert encoding().name == "cl100k_base"
    assert encoding().encode("hello world") == [15339, 1917]


def test_an_abbreviation_before_a_lower_case_word_does_not_end_the_sentence():
    text = "Fees rose, e.g. for the St. lawrence ferry, in the U.S. state of Maine. The U.S. Army left.\nend"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Fees rose, e.g. for the St. lawrence ferry, in the U.S. state of Maine.", "The U.S.", "Army left.", "end"]


def test_a_title_or_an_initial_does_not_end_the_sentence_but_a_numeral_or_an_acronym_can():
    text = ("Dr. Ames met Gen. Ortiz on Mt. Kenya with Mary K. Lowe. They left in Sept. Rain fell. "
            "Ward No. 4 closed after World War I. The rest moved to the U.S. Then came winter.")
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Dr. Ames met Gen. Ortiz on Mt. Kenya with Mary K. Lowe.", "They left in Sept. Rain fell.",
        "Ward No. 4 closed after World War I.", "The rest moved to the U.S.", "Then came winter."]
