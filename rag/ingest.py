"""Read a folder of text documents into `Document` records.

Every `.txt` and `.md` file directly in the folder (sorted, so ids and order are stable)
becomes one Document: id = file stem, title = first meaningful line, text = the content
with whitespace normalised. Files that cannot be read as UTF-8 text are skipped and
reported, never fatal. It leaves out HTML and PDF extraction and sub-folders.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from .types import Document

SUFFIXES = (".txt", ".md")
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
    first = re.split(r"(?<=[.!?])\s", lines[0], maxsplit=1)[0]
    return first if len(first) <= 100 else first[:99].rsplit(" ", 1)[0] + "…"


def read_document(path: Path) -> Document:
    """One file -> Document. Raises ValueError with a reason for files that are not text."""
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ValueError(f"larger than {MAX_BYTES // 1_000_000} MB")
    raw = path.read_bytes()
    if b"\x00" in raw[:8192]:
        raise ValueError("binary file (NUL bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"not UTF-8 text ({e.reason} at byte {e.start})") from None
    text = normalize(text)
    if not text:
        raise ValueError("empty")
    sha = hashlib.sha256(text.encode()).hexdigest()
    return Document(path.stem, find_title(text, path.stem), text, str(path), sha)


def load_folder(folder: str | Path) -> tuple[list[Document], list[Skipped]]:
    """All readable documents of `folder`, and the files skipped with their reason."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no such folder: {folder}")
    docs, skipped, seen = [], [], set()
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix.lower() not in SUFFIXES:
            continue
        try:
            doc = read_document(path)
        except (OSError, ValueError) as e:
            skipped.append(Skipped(str(path), str(e)))
            continue
        if doc.id in seen:
            skipped.append(Skipped(str(path), f"another file already has the id {doc.id}"))
            continue
        seen.add(doc.id)
        docs.append(doc)
    return docs, skipped
