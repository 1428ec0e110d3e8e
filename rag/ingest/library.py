"""The user's own documents, kept beside the seed corpus under data/uploads/.

`add` checks each file by content (rag/ingest/read.py reads it as the index would), refuses
what is too big or unreadable with a reason, and stores a copy under a safe name: the
file's stem reduced to letters, digits, dots and dashes, plus 8 hex digits of its hash, so
two uploads never overwrite each other nor a seed, and the same file added twice is
stored once. The seed folder is never written. `remove` deletes an upload (never a seed).
The index notices the change on its next use and embeds only the new content
(rag/storage/).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from ..config import Config
from ..types import Document, Progress
from .read import SUFFIXES, Skipped, load_folder, read_document

MAX_UPLOAD_BYTES = 10_000_000  # per file


def safe_name(name: str, content: bytes) -> str:
    """"../My Report (final).PDF" -> "My-Report-final-1a2b3c4d.pdf"."""
    stem, suffix = os.path.splitext(os.path.basename(name.replace("\\", "/")))
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip(".-_")[:60] or "document"
    return f"{stem}-{hashlib.sha256(content).hexdigest()[:8]}{suffix.lower()}"


def documents(config: Config, read=None) -> tuple[list[Document], list[Skipped]]:
    """The seeds and the uploads, seeds first; an upload whose id a seed already has is
    skipped. `read`: who reads the files (rag/ingest/read.py `load_folder`)."""
    docs, skipped = load_folder(config.docs_dir, read)
    if config.uploads_dir.is_dir() and config.uploads_dir.resolve() != config.docs_dir.resolve():
        more, more_skipped = load_folder(config.uploads_dir, read)
        seen = {d.id for d in docs}
        for d in more:
            if d.id in seen:
                more_skipped.append(Skipped(d.path, f"a seed document already has the id {d.id}"))
            else:
                docs.append(d)
        skipped += more_skipped
    return docs, skipped


def add(paths: list[str | Path], config: Config, names: list[str] | None = None,
        progress: Callable[[Progress], None] | None = None) -> tuple[list[Document], list[Skipped]]:
    """Store readable copies of `paths` among the uploads (`names`: the names the user
    gave them, when `paths` are temporary files; `progress` hears how far the recognition of
    a scanned PDF is). Returns what was added and what was not."""
    added, skipped = [], []
    for i, path in enumerate(map(Path, paths)):
        name = names[i] if names else path.name
        try:
            if Path(name).suffix.lower() not in SUFFIXES:
                raise ValueError(f"not a supported type (use {', '.join(SUFFIXES)})")
            size = path.stat().st_size
            if size > MAX_UPLOAD_BYTES:
                raise ValueError(f"too large ({size / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 1_000_000} MB)")
            raw = path.read_bytes()
            config.uploads_dir.mkdir(parents=True, exist_ok=True)
            target = config.uploads_dir / safe_name(name, raw)
            fd, tmp = tempfile.mkstemp(dir=config.uploads_dir, prefix=".upload-", suffix=target.suffix)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(raw)
                pages = (lambda done, total, i=i, name=name: progress(Progress(
                    0, 0, i, len(paths), reading=name, pages_done=done, pages_total=total))) if progress else None
                doc = read_document(Path(tmp), pages)  # content check: it must read as the index will read it
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            added.append(replace(doc, id=target.stem, path=str(target)))
        except (OSError, ValueError) as e:
            skipped.append(Skipped(name, str(e)))
    return added, skipped


def remove(doc_id: str, config: Config) -> bool:
    """Delete the upload `doc_id`; False when there is no such upload (seeds cannot be removed)."""
    path = _file_in(config.uploads_dir, doc_id)
    if path is not None:
        path.unlink()
    return path is not None


def file_of(doc_id: str, config: Config) -> Path | None:
    """The file of the seeds or the uploads that document `doc_id` is read from; None if there
    is none (names are compared, never joined into a path: an id cannot reach another folder)."""
    return _file_in(config.docs_dir, doc_id) or _file_in(config.uploads_dir, doc_id)


def _file_in(folder: Path, doc_id: str) -> Path | None:
    """The document file of `folder` named `doc_id` (with a supported suffix), if any."""
    if not folder.is_dir():
        return None
    return next((p for p in sorted(folder.iterdir()) if p.stem == doc_id and p.suffix.lower() in SUFFIXES
                 and not p.name.startswith(".") and p.is_file()), None)


def catalogue(manifest: dict, config: Config) -> list[tuple[str, str, int, bool]]:
    """(doc_id, title, chunks, uploaded) for every document of an index manifest, seeds first."""
    uploads = config.uploads_dir.resolve()
    return [(doc_id, d["title"], d["chunks"], Path(d.get("path", "")).resolve().parent == uploads)
            for doc_id, d in manifest["documents"].items() if d["chunks"]]
