"""A PDF's text, page by page, with where each page starts; scanned pages read by OCR.

pypdf extracts the text layer. A page without one is rendered (pypdfium2, 200 dpi, at most
MAX_PIXELS) and recognised by Tesseract (pytesseract) in a child process
(`python -m rag.ingest.ocr`), so a file that crashes or hangs the renderer costs only that
child, stopped at its time bound. What was recognised is kept under `<cache_dir>/ocr/`, keyed
by the file's hash: a scanned PDF is recognised once, not at every start; its lines are joined
back into paragraphs (`reflow`). Leaves out: layout (columns, tables) beyond what the text
layer or Tesseract give, languages other than English. Measured: docs/documents.md.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

DPI = 200
MAX_PIXELS = 40_000_000  # a page rendered larger is scaled down (an A4 page at 200 dpi is 3.9 M)
FULL_LINE = 0.8  # an OCR'd line this long (of the page's longest) is taken to wrap
MAX_OCR_PAGES = 60  # scanned pages read per file; beyond, the file is refused at once
MAX_CHILD_BYTES = 4 << 30  # the OCR child's address space
SECONDS_PER_PAGE = 60  # the bound on one page's recognition
CHILD = [sys.executable, "-m", "rag.ingest.ocr"]  # renders and recognises, one JSON line per page
MISSING = ("has {n} page(s) without a text layer and Tesseract is not installed, so they cannot "
           "be read: install it (`sudo apt-get install tesseract-ocr`, or `make ocr`), then add the file again")


def reflow(text: str, full: float = FULL_LINE) -> str:
    """OCR'd text with each paragraph on one line: a line at least `full` of the page's longest
    line wraps, and so does one followed by a lower-case line while no sentence has ended, so the
    next line continues it (a word hyphenated across the two is joined); another line (a heading,
    a paragraph's last line) ends where it ends."""
    lines = [line.strip() for line in text.split("\n")]
    width = max(map(len, lines), default=0)
    out, wraps = [], False
    for line in lines:
        last = out[-1] if out else ""
        if line and last and (wraps or line[:1].islower() and not last.endswith((".", "?", "!"))):
            out[-1] = last[:-1] + line if last.endswith("-") and line[:1].islower() else f"{last} {line}"
        else:
            out.append(line)
        wraps = len(line) >= full * width
    return "\n".join(out)


def page_at(pages: tuple[int, ...], offset: int) -> int | None:
    """The 1-based page holding character `offset`, given each page's start; None without pages."""
    return max(1, bisect.bisect_right(pages, offset)) if pages else None


def text_layer(path: Path, raw: bytes) -> list[str]:
    """Each page's extracted text ("" for a page without a text layer)."""
    if not raw.startswith(b"%PDF-"):
        raise ValueError("not a PDF (the content does not start with %PDF-)")
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed-but-readable files warn a lot
    try:
        reader = PdfReader(path)
        if reader.is_encrypted:
            raise ValueError("encrypted PDF")
        return [page.extract_text() or "" for page in reader.pages]
    except (PyPdfError, KeyError, TypeError, AttributeError, RecursionError, OSError) as e:
        raise ValueError(f"unreadable PDF ({type(e).__name__}: {e})") from None


def _cache_dir() -> Path:
    from ..config import Config
    from ..errors import ConfigError

    try:
        return Config.from_env().cache_dir / "ocr"
    except ConfigError:
        return Config().cache_dir / "ocr"


def _bounded() -> None:
    """In the OCR child: at most MAX_CHILD_BYTES of memory, whatever the file asks the renderer for."""
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MAX_CHILD_BYTES, MAX_CHILD_BYTES))


def recognise(path: Path, raw: bytes, pages: list[int], cache: Path | None = None,
              progress: Callable[[int, int], None] | None = None) -> dict[int, str]:
    """The text Tesseract reads on `pages` (0-based) of the PDF, from the cache when this file
    was read before; `progress(done, total)` hears of each page recognised. One child process
    reads the pages in turn, each kept in the cache as soon as it arrives (a stopped run resumes
    there); a page that takes longer than SECONDS_PER_PAGE stops it. Raises ValueError with a
    reason when it cannot."""
    if len(pages) > MAX_OCR_PAGES:
        raise ValueError(f"has {len(pages)} pages without a text layer; at most {MAX_OCR_PAGES} scanned pages "
                         "are read by OCR per file: split it into smaller files")
    if shutil.which("tesseract") is None:
        raise ValueError(MISSING.format(n=len(pages)))
    cache = cache or _cache_dir()
    stored = cache / f"{hashlib.sha256(raw).hexdigest()}.json"
    try:
        known = {int(k): v for k, v in json.loads(stored.read_text()).items()}
    except (OSError, ValueError):
        known = {}
    todo = [p for p in pages if p not in known]
    if todo:
        _run_child([*CHILD, str(path), *map(str, todo)], todo, known, stored, progress)
    return {p: known[p] for p in pages}


def _run_child(command: list[str], todo: list[int], known: dict[int, str], stored: Path, progress) -> None:
    import queue
    import threading

    lines: queue.Queue = queue.Queue()

    def read(stream) -> None:
        try:
            for line in stream:
                lines.put(line)
        except (OSError, ValueError):  # closed: the child was stopped
            pass
        lines.put(None)

    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          preexec_fn=_bounded) as child:
        reader = threading.Thread(target=read, args=(child.stdout,), daemon=True)
        reader.start()
        try:
            for done, page in enumerate(todo):
                if progress is not None:
                    progress(done, len(todo))
                try:
                    line = lines.get(timeout=SECONDS_PER_PAGE)
                except queue.Empty:
                    raise ValueError(f"OCR of page {page + 1} took longer than {SECONDS_PER_PAGE} s") from None
                if line is None:
                    child.wait(timeout=10)
                    why = (child.stderr.read().strip().splitlines() or [f"exit status {child.returncode}"])[-1]
                    raise ValueError(f"OCR failed on page {page + 1} ({why[:200]})")
                number, text = json.loads(line)
                known[int(number)] = text
                stored.parent.mkdir(parents=True, exist_ok=True)
                tmp = stored.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(known))
                os.replace(tmp, stored)
            if progress is not None:
                progress(len(todo), len(todo))
        finally:
            child.kill()
            reader.join(timeout=10)


def pdf_pages(path: Path, raw: bytes, progress: Callable[[int, int], None] | None = None) -> list[str]:
    """Every page's text: the text layer where there is one, else what OCR reads (`progress`:
    `recognise`'s)."""
    pages = text_layer(path, raw)
    scanned = [i for i, t in enumerate(pages) if not t.strip()]
    if scanned:
        for i, text in recognise(path, raw, scanned, progress=progress).items():
            pages[i] = reflow(text)
    return pages
