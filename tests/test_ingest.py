from pathlib import Path

from rag.ingest.read import find_title, load_folder, normalize

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
    (tmp_path / "truncated.pdf").write_bytes(b"%PDF-1.4")
    (tmp_path / "fake.pdf").write_text("just text pretending")
    (tmp_path / "broken.docx").write_bytes(b"PK\x03\x04")
    (tmp_path / "ignored.doc").write_bytes(b"\xd0\xcf\x11\xe0")
    docs, skipped = load_folder(tmp_path)
    assert [d.id for d in docs] == ["good"]
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert set(reasons) == {"latin1.txt", "binary.txt", "empty.md", "truncated.pdf", "fake.pdf", "broken.docx"}
    assert "not a Word document" in reasons["broken.docx"]
    assert "UTF-8" in reasons["latin1.txt"] and "binary" in reasons["binary.txt"]
    assert "PDF" in reasons["truncated.pdf"] and "%PDF-" in reasons["fake.pdf"]


def minimal_pdf(lines: list[str]) -> bytes:
    """A one-page PDF showing `lines` in Helvetica, with a correct cross-reference table."""
    return paged_pdf([lines])


def paged_pdf(pages: list[list[str]]) -> bytes:
    """A PDF of one page per item of `pages`, each showing its lines in Helvetica."""
    n = len(pages)
    kids = " ".join(f"{3 + 2 * i} 0 R" for i in range(n))
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", f"<< /Type /Pages /Kids [{kids}] /Count {n} >>"]
    for i, lines in enumerate(pages):
        ops = "".join(f"BT /F1 12 Tf 72 {720 - 16 * j} Td ({line}) Tj ET\n" for j, line in enumerate(lines))
        objects += [f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {4 + 2 * i} 0 R "
                    f"/Resources << /Font << /F1 {3 + 2 * n} 0 R >> >> >>",
                    f"<< /Length {len(ops)} >>\nstream\n{ops}endstream"]
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out, offsets = b"%PDF-1.4\n", []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += "".join(f"{o:010d} 00000 n \n" for o in offsets).encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def test_pdf_and_html_are_read_as_text(tmp_path):
    (tmp_path / "report.pdf").write_bytes(minimal_pdf(["Local Food Networks", "Farmers sell at weekly markets."]))
    (tmp_path / "page.html").write_text(
        "<html><head><title>Repair &amp; Reuse</title><style>p {color: red}</style></head><body>"
        "<nav>Home | Menu</nav><h1>Repair cafes</h1><p>Volunteers <b>fix</b> lamps.</p>"
        "<script>alert('x')</script><p>Two &lt;b&gt; tags.</p></body></html>")
    docs = {d.id: d for d in load_folder(tmp_path)[0]}
    assert "Farmers sell at weekly markets." in docs["report"].text and docs["report"].title == "Local Food Networks"
    page = docs["page"]
    assert page.title == "Repair & Reuse"
    lines = [line for line in page.text.split("\n") if line]
    assert lines == ["Repair cafes", "Volunteers fix lamps.", "Two <b> tags."]
    assert "alert" not in page.text and "color" not in page.text and "Menu" not in page.text
