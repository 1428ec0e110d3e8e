from pathlib import Path

from rag.ingest import find_title, load_folder, normalize

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def test_seed_titles_skip_web_boilerplate():
    docs, skipped = load_folder(SEEDS)
    assert skipped == []
    titles = {d.id: d.title for d in docs}
    assert len(docs) == 5
    assert titles["000_ae7a306af6e1a8a6"] == "Globalization vs Localization: Finding the Balance"
    assert titles["004_b41fe5cd3bc1858d"] == "Glocalization: From Local to Global and Back Again"
    assert all(t not in ("Skip to content", "4", "(309 votes)") for t in titles.values())


def test_ids_are_file_stems_and_order_is_stable():
    docs, _ = load_folder(SEEDS)
    assert [d.id for d in docs] == sorted(p.stem for p in SEEDS.glob("*.txt"))


def test_title_falls_back_to_first_sentence():
    assert find_title("12\n(40 votes)\nthe town felt paused. Shops closed.", "x") == "the town felt paused."
    assert find_title("", "fallback") == "fallback"


def test_normalize_whitespace():
    assert normalize("a \t b\r\n\r\n\r\n\n c  \n") == "a b\n\nc"


def test_bad_files_are_skipped_with_a_reason(tmp_path):
    (tmp_path / "good.txt").write_text("Local markets sell local food.")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 au lait".encode("latin-1"))
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02 binary")
    (tmp_path / "empty.md").write_text("  \n ")
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF-1.4")
    docs, skipped = load_folder(tmp_path)
    assert [d.id for d in docs] == ["good"]
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert set(reasons) == {"latin1.txt", "binary.txt", "empty.md"}
    assert "UTF-8" in reasons["latin1.txt"] and "binary" in reasons["binary.txt"]
