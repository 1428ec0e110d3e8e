"""Bad questions and bad documents: each answered, ingested or refused with a reason,
never an exception, and nothing written outside the project's data folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag import Answer
from rag.ingest import library
from rag.ingest.read import load_folder
from rag.pipeline import Pipeline
from tests.conftest import FakeEmbedder, FakeGenerator
from tests.test_ingest import minimal_pdf
from tests.test_pipeline import FAKE_CONFIDENCE, copy_first_passage_sentence

QUESTIONS = [
    "What\x07 is\x1b[31m SoULS?\x00",  # control characters
    "🌍 What is SoULS? 🙂🙂",  # emoji
    "ما هي العولمة؟ What is SoULS?",  # right-to-left text
    "\u202eSoULS\u202c ist was?",  # bidi override characters
    "Was ist Globalisierung und Lokalisierung?",  # German
    "グローバル化とは何ですか",  # Japanese
    "¿Qué es la relocalización?",  # Spanish
]


@pytest.fixture
def pipe(config):
    return Pipeline(config.with_(min_confidence=FAKE_CONFIDENCE), FakeEmbedder(),
                    FakeGenerator(copy_first_passage_sentence), log=lambda *_: None)


@pytest.mark.parametrize("question", QUESTIONS)
def test_questions_in_any_script_or_with_control_characters_get_an_answer(pipe, question):
    a = pipe.answer(question)
    assert isinstance(a, Answer) and a.text.strip()


def test_a_hundred_thousand_character_question_is_cut_to_the_budget(pipe):
    seen = []
    pipe.generator = FakeGenerator(lambda m: (seen.append(m), copy_first_passage_sentence(m))[1])
    a = pipe.answer("How do solar lamps help villages? " * 3000)  # ~100,000 characters
    assert a.text.startswith("(Your question was shortened")
    assert all(len(m["content"]) < 6000 for messages in seen for m in messages)


def bad_folder(folder: Path) -> None:
    (folder / "good.md").write_text("# Solar Lamps\n\nVillage women assemble solar lamps.")
    (folder / "notes..final.txt").write_text("Repair cafes fix toasters for free.")
    (folder / "my notes with spaces.md").write_text("Community gardens feed the neighbourhood.")
    (folder / "résumé 日本.txt").write_text("Local bakeries sell bread made from local wheat.")
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(bytes(range(256)) * 4)
    (folder / "latin1.md").write_bytes("Caf\xe9 cr\xe8me".encode("latin-1"))
    with open(folder / "huge.txt", "wb") as f:  # 50 MB
        f.truncate(50 * 1024 * 1024)
    (folder / "scanned.pdf").write_bytes(minimal_pdf([]))
    (folder / "deep.html").write_text("<title>Deep</title>" + "<div>" * 200_000 + "Markets open at dawn."
                                      + "</div>" * 200_000)


def test_a_folder_of_bad_files_indexes_the_rest_and_says_why_for_each(tmp_path, config):
    folder = tmp_path / "bad"
    folder.mkdir()
    bad_folder(folder)
    docs, skipped = load_folder(folder)
    assert sorted(d.id for d in docs) == ["deep", "good", "my notes with spaces", "notes..final", "résumé 日本"]
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.md"] and "larger than" in reasons["huge.txt"]
    assert "not even by OCR" in reasons["scanned.pdf"] or "Tesseract is not installed" in reasons["scanned.pdf"]
    pipe = Pipeline(config.with_(docs_dir=folder, min_confidence=FAKE_CONFIDENCE), FakeEmbedder(),
                    FakeGenerator(copy_first_passage_sentence), log=lambda *_: None)
    assert {d for d, *_ in pipe.catalogue()} == {d.id for d in docs}
    assert "toasters" in pipe.answer("What do repair cafes fix?").text


@pytest.mark.parametrize("name", ["../../escape.txt", "..\\..\\escape.md", "/etc/escape.html",
                                  "..", "....txt", "con.txt", "ü ñ 日本 .md"])
def test_uploads_with_hostile_names_stay_in_the_uploads_folder(tmp_path, config, name):
    src = tmp_path / "upload.tmp"
    src.write_text("Markets open at dawn in the old town.")
    before = {p for p in tmp_path.rglob("*")}
    added, skipped = library.add([src], config, names=[name])
    new = {p for p in tmp_path.rglob("*")} - before
    uploads = config.uploads_dir.resolve()
    assert all(uploads == p.resolve() or uploads in p.resolve().parents for p in new)
    assert len(added) + len(skipped) == 1
    for d in added:
        assert Path(d.path).resolve().parent == uploads
