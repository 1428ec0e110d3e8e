"""PDF pages and their citations, scanned pages read by Tesseract, Word files, and the bounds
that keep hostile files harmless. Made-up documents throughout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from rag.ingest import office, pdf
from rag.ingest.read import load_folder, normalize, normalize_pages, read_document
from rag.pipeline import Pipeline
from tests.conftest import FakeEmbedder, FakeGenerator
from tests.test_ingest import paged_pdf
from tests.test_pipeline import FAKE_CONFIDENCE, copy_first_passage_sentence
from tools.ocr_check import scanned_pdf

tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="Tesseract not installed (make ocr)")

FACTS = ["The harbour museum shows old fishing boats.", "Bakers in Lindqvist use rye from the valley.",
         "The ferry to Osterholm carries bicycles and cars.", "Weavers in Marrow Hill dye wool with walnut husks.",
         "The cooperative sells honey from forty hives."]


def test_page_starts_are_kept_and_the_text_is_what_it_was(tmp_path):
    path = tmp_path / "guide.pdf"
    path.write_bytes(paged_pdf([["Town Guide", f] for f in FACTS]))
    doc = read_document(path)
    from pypdf import PdfReader

    before = normalize("\n\n".join(p.extract_text() for p in PdfReader(path).pages))  # how pages were read before
    assert doc.text == before  # same text, same hash: an index built before re-embeds nothing
    assert len(doc.pages) == 5 and doc.pages[0] == 0
    for n, fact in enumerate(FACTS, 1):
        assert pdf.page_at(doc.pages, doc.text.index(fact)) == n


def test_empty_pages_start_where_the_next_page_does():
    text, starts = normalize_pages(["  One.  ", "", "Three.\n\n\n\nStill three.", " "])
    assert text == "One.\n\nThree.\n\nStill three."
    assert starts == (0, 6, 6, len(text))
    assert [pdf.page_at(starts, o) for o in (0, 5, 6, len(text) - 1)] == [1, 1, 3, 3]
    assert pdf.page_at((), 10) is None


def test_each_citation_gives_the_page_of_its_sentence(tmp_path, config):
    folder = tmp_path / "pdfs"
    folder.mkdir()
    (folder / "guide.pdf").write_bytes(paged_pdf([["Town Guide", f] for f in FACTS]))
    (folder / "notes.txt").write_text("Repair cafes fix toasters for free on Saturdays.")
    pipe = Pipeline(config.with_(docs_dir=folder, min_confidence=FAKE_CONFIDENCE, chunk_tokens=200),
                    FakeEmbedder(), FakeGenerator(copy_first_passage_sentence), log=lambda *_: None)
    questions = ["What does the harbour museum show?", "What do bakers in Lindqvist use?",
                 "What does the ferry to Osterholm carry?", "What do weavers in Marrow Hill dye wool with?",
                 "What does the cooperative sell?"]
    for n, q in enumerate(questions, 1):
        a = pipe.answer(q)
        assert not a.abstained, q
        cited = [c for c in a.citations if c.doc_id == "guide"]
        assert cited and cited[0].page == n, (q, a.text, [(c.page, c.spans) for c in a.citations])
    a = pipe.answer("What do repair cafes fix?")
    assert a.citations and a.citations[0].doc_id == "notes" and a.citations[0].page is None


@tesseract
def test_a_scanned_pdf_is_read_by_ocr_with_its_pages_and_once(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "_cache_dir", lambda: tmp_path / "ocr")
    path = tmp_path / "scan.pdf"
    scanned_pdf(path, FACTS[:2])
    doc = read_document(path)
    assert "harbour museum shows old fishing boats" in doc.text and "rye from the valley" in doc.text
    assert pdf.page_at(doc.pages, doc.text.index("rye")) == 2
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("recognised again"))
    assert read_document(path).text == doc.text  # from the cache


def test_without_tesseract_a_scanned_pdf_is_skipped_saying_how_to_read_it(tmp_path, monkeypatch):
    (tmp_path / "scan.pdf").write_bytes(paged_pdf([[], []]))
    monkeypatch.setattr(pdf.shutil, "which", lambda name: None)
    docs, skipped = load_folder(tmp_path)
    assert docs == [] and "Tesseract is not installed" in skipped[0].reason and "make ocr" in skipped[0].reason


def test_too_many_scanned_pages_are_refused_at_once(tmp_path, monkeypatch):
    (tmp_path / "big.pdf").write_bytes(paged_pdf([[]] * 200))
    monkeypatch.setattr(subprocess, "Popen", lambda *a, **k: pytest.fail("rendered"))
    t = time.perf_counter()
    docs, skipped = load_folder(tmp_path)
    assert docs == [] and "200 pages without a text layer" in skipped[0].reason
    assert time.perf_counter() - t < 30  # a bound, not a speed test


def test_ocr_that_hangs_or_crashes_is_a_reason_not_a_hang(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "_cache_dir", lambda: tmp_path / "ocr")
    monkeypatch.setattr(pdf.shutil, "which", lambda name: "/usr/bin/tesseract")
    monkeypatch.setattr(pdf, "SECONDS_PER_PAGE", 2)
    (tmp_path / "scan.pdf").write_bytes(paged_pdf([[]]))
    monkeypatch.setattr(pdf, "CHILD", [sys.executable, "-c", "import time; time.sleep(60)"])
    t = time.perf_counter()
    assert "took longer than 2 s" in load_folder(tmp_path)[1][0].reason
    assert time.perf_counter() - t < 30
    monkeypatch.setattr(pdf, "CHILD", [sys.executable, "-c", "import os, sys; print('renderer died', "
                                                             "file=sys.stderr, flush=True); os.abort()"])
    assert "OCR failed on page 1 (renderer died)" in load_folder(tmp_path)[1][0].reason


@tesseract
def test_a_page_that_would_render_huge_is_scaled_down(tmp_path, monkeypatch):
    monkeypatch.setattr(pdf, "_cache_dir", lambda: tmp_path / "ocr")
    raw = paged_pdf([[]]).replace(b"/MediaBox [0 0 612 792]", b"/MediaBox [0 0 14400 14400]")
    (tmp_path / "huge.pdf").write_bytes(raw)
    docs, skipped = load_folder(tmp_path)  # 200 x 200 inches at 200 dpi would be 1.6 billion pixels
    assert docs == [] and "not even by OCR" in skipped[0].reason


def word_file(path: Path) -> None:
    import docx

    d = docx.Document()
    d.core_properties.title = ""
    d.add_heading("Harbour Town Notes", level=1)
    d.add_paragraph("The harbour museum opens at nine.")
    table = d.add_table(rows=2, cols=2)
    for r, row in enumerate([("Shop", "Opens"), ("Bakery", "Seven")]):
        for c, value in enumerate(row):
            table.cell(r, c).text = value
    d.add_paragraph("The ferry leaves twice a day.")
    d.save(path)


def test_a_word_file_is_read_in_order_with_its_tables(tmp_path):
    word_file(tmp_path / "notes.docx")
    doc = read_document(tmp_path / "notes.docx")
    assert doc.title == "Harbour Town Notes" and doc.pages == ()
    assert doc.text.split("\n\n") == ["Harbour Town Notes", "The harbour museum opens at nine.",
                                      "Shop | Opens\nBakery | Seven", "The ferry leaves twice a day."]


def test_a_renamed_zip_a_zip_bomb_and_entities_are_harmless(tmp_path, monkeypatch):
    with zipfile.ZipFile(tmp_path / "renamed.docx", "w") as z:
        z.writestr("readme.txt", "not a document")
    monkeypatch.setattr(office, "MAX_UNPACKED", 2_000_000)
    word_file(tmp_path / "bomb.docx")
    with zipfile.ZipFile(tmp_path / "bomb.docx", "a", zipfile.ZIP_DEFLATED) as z:
        z.writestr("word/media/zeros.bin", b"\0" * 5_000_000)
    word_file(tmp_path / "linked.docx")
    with zipfile.ZipFile(tmp_path / "linked.docx") as z:
        parts = {n: z.read(n) for n in z.namelist()}
    xml = parts["word/document.xml"].decode()
    xml = xml.replace("<?xml version='1.0' encoding='UTF-8' standalone='yes'?>",
                      '<?xml version="1.0"?><!DOCTYPE w:document [<!ENTITY secret SYSTEM "file:///etc/passwd">]>')
    parts["word/document.xml"] = xml.replace("opens at nine.", "opens at nine. &secret;").encode()
    rels = parts["word/_rels/document.xml.rels"].decode()
    parts["word/_rels/document.xml.rels"] = rels.replace("</Relationships>", '<Relationship Id="rIdX" Type="http://'
        'schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="http://192.0.2.1/x.png" '
        'TargetMode="External"/></Relationships>').encode()
    with zipfile.ZipFile(tmp_path / "linked.docx", "w") as z:
        for name, data in parts.items():
            z.writestr(name, data)
    docs, skipped = load_folder(tmp_path)
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "without word/document.xml" in reasons["renamed.docx"] and "zip bomb" in reasons["bomb.docx"]
    texts = [d.text for d in docs]
    assert all("root:" not in t for t in texts)  # the entity is never resolved, nothing is fetched


def test_ocr_lines_are_joined_back_into_paragraphs():
    page = ("Harbour Notes\n\nThe ferry to Osterholm leaves twice a day and carries bicycles, cars and\n"
            "the post. Tickets are sold on board.\nIn winter the crossing takes longer be-\n"
            "cause of the ice.\n\nOpening Hours\nThe museum opens at nine.")
    assert pdf.reflow(page) == ("Harbour Notes\n\nThe ferry to Osterholm leaves twice a day and carries bicycles, "
                                "cars and the post. Tickets are sold on board.\nIn winter the crossing takes longer "
                                "because of the ice.\n\nOpening Hours\nThe museum opens at nine.")


@tesseract
def test_adding_a_scanned_pdf_reports_each_page_recognised(tmp_path, config, monkeypatch):
    monkeypatch.setattr(pdf, "_cache_dir", lambda: tmp_path / "ocr")
    scanned_pdf(tmp_path / "scan.pdf", FACTS[:2])
    heard = []
    pipe = Pipeline(config, FakeEmbedder(), FakeGenerator(copy_first_passage_sentence), log=lambda *_: None)
    added, skipped = pipe.add([tmp_path / "scan.pdf"], ["My Scan.pdf"], progress=heard.append)
    assert [d.title for d in added] and not skipped
    reading = [(p.reading, p.pages_done, p.pages_total) for p in heard if p.reading]
    assert reading == [("My Scan.pdf", 0, 2), ("My Scan.pdf", 1, 2), ("My Scan.pdf", 2, 2)]
    assert any(p.chunks_total and not p.reading for p in heard)  # then the embedding
