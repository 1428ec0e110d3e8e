"""Read a folder of text documents into `Document` records.

Every `.txt`, `.md`, `.html`, `.pdf` and `.docx` file directly in the folder (sorted, so ids
and order are stable) becomes one Document: id = file stem, title = first meaningful line (or
the HTML <title>, the Word title), text = the content with whitespace normalised. HTML goes
through the standard library's HTML tokenizer (scripts, styles and page furniture dropped,
entities decoded, block tags end lines; document text is never executed), PDF through
rag/ingest/pdf.py page by page (scanned pages by OCR; where each page starts is kept), Word
files through rag/ingest/office.py. Content is checked against the suffix: a ".pdf" must
start with %PDF-, a ".docx" must be a Word zip, text must be UTF-8 without NUL bytes. Files
that fail are skipped and reported with the reason, never fatal. Sub-folders are not read.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

from ..text import sentences
from ..types import Document
from .office import docx_text
from .pdf import pdf_pages

SUFFIXES = (".txt", ".md", ".html", ".htm", ".pdf", ".docx")
MAX_BYTES = 20_000_000  # a bigger "document" is almost surely not prose

# lines that web pages put before the real title
_BOILERPLATE = re.compile(
    r"^(skip to (main )?content|menu|search|home|log ?in|sign ?in|sign ?up|subscribe|"
    r"share|print|cookies?.*|accept.*cookies.*|table of contents|contents|navigation|"
    r"\(?\d[\d,.]*\s*(votes?|views?|comments?|likes?|shares?)\)?|"
    r"[\d\W_]+|stroke \d+|\w+ \d{1,2}(st|nd|rd|th)?,? \d{4})$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


def normalize(text: str) -> str:
    """Unify line ends, fold runs of spaces and tabs, trim each line, and keep at most
    one blank line between paragraphs."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00a0", " ")
    text = re.sub(r"[^\S\n]+", " ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip()


def normalize_pages(pages: list[str]) -> tuple[str, tuple[int, ...]]:
    """The pages' texts normalised and joined by blank lines, and the offset where each starts
    (an empty page starts where the next one does)."""
    text, starts, empty = "", [], 0  # empty: pages waiting for the next page's start
    for page in map(normalize, pages):
        if not page:
            empty += 1
            continue
        text += "\n\n" if text else ""
        starts += [len(text)] * (empty + 1)
        text, empty = text + page, 0
    return text, tuple(starts + [len(text)] * empty)


def _is_heading(line: str) -> bool:
    words = [w for w in re.findall(r"[A-Za-z][\w'’-]*", line) if len(w) >= 4]
    return 0 < len(line) <= 120 and bool(words) and (
        sum(w[0].isupper() for w in words) / len(words) >= 0.75
    )


def find_title(text: str, fallback: str) -> str:
    """The first heading-like line among the first meaningful ones, else the first
    meaningful line (its first sentence, at most 100 characters)."""
    lines = []
    for line in text.split("\n"):
        line = line.strip().strip("=#*").strip()
        if len(line) >= 3 and not _BOILERPLATE.match(line):
            lines.append(line)
        if len(lines) == 5:
            break
    for line in lines:
        if _is_heading(line):
            return line
    if not lines:
        return fallback
    first = sentences(lines[0])[0]
    return first if len(first) <= 100 else first[:99].rsplit(" ", 1)[0] + "…"


def _decode(raw: bytes) -> str:
    if b"\x00" in raw[:8192]:
        raise ValueError("binary file (NUL bytes)")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text ({e.reason} at byte {e.start})") from None


_BLOCKS = {"p", "div", "br", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table", "section", "article", "main",
           "blockquote", "pre", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "figcaption", "title"}
_HIDDEN = {"script", "style", "noscript", "template", "nav", "header", "footer", "aside", "form", "head", "svg",
           "iframe"}
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _Text(HTMLParser):
    """Visible text of a page, one block per line, in one pass over the tags (linear even
    for pathologically nested pages: a tree, walked and edited, was quadratic)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.hidden = 0  # depth inside script/style/nav/...
        self.in_title = False

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.in_title = True
        elif tag in _HIDDEN and tag not in _VOID:
            self.hidden += 1
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        elif tag in _HIDDEN and self.hidden:
            self.hidden -= 1
        if tag in _BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        elif not self.hidden:
            self.parts.append(data)


def html_text(raw: bytes) -> tuple[str, str]:
    """(title, text) of an HTML page: visible text only, one block per line."""
    parser = _Text()
    parser.feed(_decode(raw))
    parser.close()
    return " ".join("".join(parser.title).split()), "".join(parser.parts)


def read_document(path: Path, progress: Callable[[int, int], None] | None = None) -> Document:
    """One file -> Document. Raises ValueError with a reason for files that are not text.
    `progress(done, total)` hears of each scanned page recognised (rag/ingest/pdf.py)."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES // 1_000_000} MB")
    raw = path.read_bytes()
    suffix, title, pages = path.suffix.lower(), "", ()
    if suffix == ".pdf":
        text, pages = normalize_pages(pdf_pages(path, raw, progress))
    elif suffix in (".html", ".htm"):
        title, text = html_text(raw)
    elif suffix == ".docx":
        title, text = docx_text(path, raw)
    else:
        text = _decode(raw)
    text = normalize(text)
    if not text:
        raise ValueError("no text found, not even by OCR" if suffix == ".pdf" else "empty")
    sha = hashlib.sha256(text.encode()).hexdigest()
    return Document(path.stem, normalize(title) or find_title(text, path.stem), text, str(path), sha, pages)


def load_folder(folder: str | Path, read: Callable[[list[Path]], list[Document | Exception]] | None = None
                ) -> tuple[list[Document], list[Skipped]]:
    """All readable documents of `folder`, and the files skipped with their reason. `read`
    reads many files at once, each to a Document or the error that stopped it (a Ray
    cluster's, rag/storage/ray_workers.py); by default they are read here, one by one."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such folder: {folder}")
    paths = [p for p in sorted(folder.iterdir())
             if p.is_file() and p.suffix.lower() in SUFFIXES and not p.name.startswith(".")]
    docs, skipped, seen = [], [], set()
    for path, doc in zip(paths, read(paths) if read else map(read_or_error, paths), strict=True):
        if isinstance(doc, Exception):
            skipped.append(Skipped(str(path), str(doc)))
            continue
        if doc.id in seen:
            skipped.append(Skipped(str(path), f"another file already has the id {doc.id}"))
            continue
        seen.add(doc.id)
        docs.append(doc)
    return docs, skipped


def read_or_error(path: Path) -> Document | Exception:
    """The Document of `path`, or the error that says why it cannot be read."""
    try:
        return read_document(path)
    except (OSError, ValueError) as e:
        return e
