"""Your own documents: stored safely beside the seeds, indexed incrementally, removable."""

import pytest

from rag.ingest import library
from rag.pipeline import Pipeline
from tests.conftest import FakeEmbedder, FakeGenerator
from tests.test_ingest import minimal_pdf


def test_safe_names_keep_the_stem_and_add_a_content_hash():
    name = library.safe_name("../../etc/My Report (final).PDF", b"x")
    assert name.startswith("My-Report-final-") and name.endswith(".pdf") and "/" not in name
    assert library.safe_name("..", b"x").startswith("document-")
    assert library.safe_name("a.txt", b"x") != library.safe_name("a.txt", b"y")


def test_added_files_are_checked_by_content_and_stored_under_uploads(tmp_path, config, monkeypatch):
    src = tmp_path / "src"
    src.mkdir()
    (src / "notes.txt").write_text("Repair cafes fix broken lamps for free.")
    (src / "report.pdf").write_bytes(minimal_pdf(["Community Energy", "Villages share one solar grid."]))
    (src / "fake.pdf").write_text("not a pdf at all")
    (src / "tool.exe").write_bytes(b"MZ\x00\x00")
    (src / "big.txt").write_text("word " * 400)
    monkeypatch.setattr(library, "MAX_UPLOAD_BYTES", 1500)
    seeds_before = sorted(p.name for p in config.docs_dir.iterdir())
    added, skipped = library.add(sorted(src.iterdir()), config)
    assert sorted(d.title for d in added) == ["Community Energy", "Repair cafes fix broken lamps for free."]
    reasons = {s.path: s.reason for s in skipped}
    assert "%PDF-" in reasons["fake.pdf"] and "supported type" in reasons["tool.exe"]
    assert "too large" in reasons["big.txt"]
    assert sorted(p.name for p in config.docs_dir.iterdir()) == seeds_before  # seeds untouched
    stored = sorted(p.name for p in config.uploads_dir.iterdir())
    assert len(stored) == 2 and all(n.startswith(("notes-", "report-")) for n in stored)
    library.add([src / "notes.txt"], config)  # the same file again: stored once
    assert len(list(config.uploads_dir.iterdir())) == 2


def test_pipeline_indexes_only_the_new_document_and_can_remove_it(tmp_path, config):
    pipe = Pipeline(config.with_(min_confidence=0.0), FakeEmbedder(), FakeGenerator(
        "Repair cafes fix broken lamps for free."), log=lambda *_: None)
    before = len(pipe.index.chunks)
    (tmp_path / "repair.md").write_text("# Repair Cafes\n\nRepair cafes fix broken lamps for free.")
    pipe.embedder.calls.clear()
    added, skipped = pipe.add([tmp_path / "repair.md"])
    assert [d.title for d in added] == ["Repair Cafes"] and not skipped
    assert sum(pipe.embedder.calls) <= 2  # only the new document's chunks were embedded
    rows = {doc_id: (n, mine) for doc_id, _, n, mine in pipe.catalogue()}
    assert rows[added[0].id] == (1, True) and rows["solar"][1] is False
    a = pipe.answer("Who fixes broken lamps for free?")
    assert not a.abstained and a.citations[0].doc_id == added[0].id
    assert pipe.remove(added[0].id) and len(pipe.index.chunks) == before
    assert not pipe.remove("solar")  # a seed cannot be removed
    assert (config.docs_dir / "solar.txt").exists()


@pytest.mark.parametrize("name", [".upload-123.txt", ".hidden.md"])
def test_hidden_and_half_written_files_are_not_read(config, name):
    config.uploads_dir.mkdir(parents=True)
    (config.uploads_dir / name).write_text("Half written text.")
    docs, _ = library.documents(config)
    assert all(not d.id.startswith(".") for d in docs)
