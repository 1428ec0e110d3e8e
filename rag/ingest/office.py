"""A Word file's (.docx) text: paragraphs, headings and tables, in document order.

Read with python-docx, after checking that the file is a zip holding `word/document.xml`
and that it unpacks to at most MAX_UNPACKED bytes (a zip bomb is refused before anything is
inflated). A table row becomes one line, its cells joined by " | ". Nothing the file links to
is fetched (python-docx never resolves external relationships or XML entities). Leaves out:
headers, footers, footnotes, comments, text boxes and the older binary .doc format.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

MAX_UNPACKED = 100_000_000  # bytes a .docx may unpack to
MAX_RATIO = 200  # unpacked / packed size of one member


def _check_zip(path: Path) -> None:
    try:
        with zipfile.ZipFile(path) as z:
            members = z.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        raise ValueError(f"not a Word document (not a valid .docx zip: {e})") from None
    if not any(m.filename == "word/document.xml" for m in members):
        raise ValueError("not a Word document (a zip without word/document.xml)")
    total = sum(m.file_size for m in members)
    if total > MAX_UNPACKED or any(m.file_size > MAX_RATIO * max(m.compress_size, 1) and m.file_size > 1_000_000
                                   for m in members):
        raise ValueError(f"refused: it would unpack to {total / 1e6:.0f} MB (a zip bomb?)")


def docx_text(path: Path, raw: bytes) -> tuple[str, str]:
    """(title, text) of a .docx: the core title or first heading, and every block's text."""
    if not raw.startswith(b"PK\x03\x04"):
        raise ValueError("not a Word document (the content is not a zip)")
    _check_zip(path)
    import docx
    from docx.table import Table

    try:
        document = docx.Document(str(path))
        lines, heading = [], ""
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                for row in block.rows:
                    cells = list(dict.fromkeys(c.text.strip() for c in row.cells))  # merged cells repeat
                    lines.append(" | ".join(c for c in cells if c))
                lines.append("")
                continue
            text = block.text.strip()
            style = (block.style.name if block.style is not None else "") or ""
            if text and not heading and (style.startswith("Heading") or style == "Title"):
                heading = text
            lines += [text, ""] if text else []
        title = (document.core_properties.title or "").strip() or heading
    except Exception as e:  # python-docx and lxml raise many kinds (KeyError, XMLSyntaxError, ...)
        raise ValueError(f"unreadable Word document ({type(e).__name__}: {str(e)[:200]})") from None
    return title, "\n".join(lines)
