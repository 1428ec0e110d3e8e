"""Faults while indexing: killed runs, a full disk, a read-only folder, two runs at once.

The indexing runs here are real processes (the fake embedder, slowed down so a run lasts
long enough to be killed in every phase), so `kill -9` is the real thing.
"""

from __future__ import annotations

import errno
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rag.errors import BadIndexError, IndexWriteError
from rag.ingest.read import load_folder
from rag.storage import faiss_index as ix
from tests.conftest import ROOT, FakeEmbedder

CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from rag.config import Config
from rag.storage import ensure
from rag.ingest.read import load_folder
from tests.conftest import FakeEmbedder

class Slow(FakeEmbedder):
    def encode(self, texts, batch_size=32):
        time.sleep(0.02 * len(texts))
        return super().encode(texts, batch_size)

config = Config(docs_dir=Path({docs!r}), index_dir=Path({index!r}), cache_dir=Path({cache!r}),
                chunk_tokens=40, chunk_overlap=8, embed_batch=4)
docs, _ = load_folder(config.docs_dir)
index = ensure(docs, Slow(), config, log=lambda m: print(m, flush=True))
print("DONE", len(index.chunks), flush=True)
"""


def child(config) -> list[str]:
    code = CHILD.format(root=str(ROOT), docs=str(config.docs_dir), index=str(config.index_dir),
                        cache=str(config.cache_dir))
    return [sys.executable, "-c", code]


def grow(folder: Path, n: int, tag: str) -> None:
    for i in range(n):
        (folder / f"{tag}{i}.txt").write_text(f"Document {tag} {i} is about local trade number {i}. " * 12)


def test_kill_9_at_random_points_leaves_an_index_that_loads_and_the_next_run_completes(config):
    ix.ensure(load_folder(config.docs_dir)[0], FakeEmbedder(), config, log=lambda *_: None)
    grow(config.docs_dir, 12, "new")
    t = time.perf_counter()
    out = subprocess.run(child(config), capture_output=True, text=True, timeout=300)  # how long a full run takes
    full = time.perf_counter() - t
    assert "DONE" in out.stdout, out.stderr
    rng = random.Random(7)
    for k in range(5):
        grow(config.docs_dir, 4, f"more{k}-")  # something new to build each round
        previous = ix.load(config.index_dir, FakeEmbedder(), config).chunks
        proc = subprocess.Popen(child(config), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(rng.uniform(0.2, full))  # python start, reading, embedding or writing
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        now = ix.load(config.index_dir, FakeEmbedder(), config)  # never a broken index
        docs, _ = load_folder(config.docs_dir)
        assert now.chunks == previous or ix.is_current(now, docs)  # the old one, or the whole new one
        done = subprocess.run(child(config), capture_output=True, text=True, timeout=300)
        assert "DONE" in done.stdout, done.stderr
        assert ix.is_current(ix.load(config.index_dir, FakeEmbedder(), config), docs)


def test_a_full_disk_is_a_clear_error_and_the_previous_index_stays(config, monkeypatch):
    docs, _ = load_folder(config.docs_dir)
    before = ix.ensure(docs, FakeEmbedder(), config, log=lambda *_: None).chunks
    (config.docs_dir / "extra.txt").write_text("Repair cafes fix toasters for free.")

    def full(*_):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(ix.bm25, "save", full)
    with pytest.raises(IndexWriteError, match="No space left on device.*python -m rag index"):
        ix.ensure(load_folder(config.docs_dir)[0], FakeEmbedder(), config, log=lambda *_: None)
    monkeypatch.undo()
    assert ix.load(config.index_dir, FakeEmbedder(), config).chunks == before
    assert not [p for p in (config.index_dir / "snapshots").iterdir() if p.name.startswith(".tmp")]


def test_a_read_only_index_folder_is_a_clear_error(config, monkeypatch):
    docs, _ = load_folder(config.docs_dir)
    if os.geteuid() != 0:  # a real read-only folder (root writes through permissions)
        config.index_dir.mkdir()
        config.index_dir.chmod(0o555)
    else:
        real = Path.mkdir

        def refuse(self, *args, **kwargs):
            if config.index_dir in (self, *self.parents):
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return real(self, *args, **kwargs)

        monkeypatch.setattr(Path, "mkdir", refuse)
    try:
        with pytest.raises(IndexWriteError, match="Permission denied.*writable"):
            ix.ensure(docs, FakeEmbedder(), config, log=lambda *_: None)
    finally:
        if config.index_dir.exists():
            config.index_dir.chmod(0o755)


def test_a_corrupted_index_says_how_to_rebuild(config):
    docs, _ = load_folder(config.docs_dir)
    ix.ensure(docs, FakeEmbedder(), config, log=lambda *_: None)
    snap = config.index_dir / "snapshots" / (config.index_dir / "CURRENT").read_text().strip()
    chunks = snap / "chunks.jsonl"
    chunks.write_bytes(chunks.read_bytes()[:-20])  # truncated
    with pytest.raises(BadIndexError, match="python -m rag index"):
        ix.load(config.index_dir, FakeEmbedder(), config)
    assert ix.ensure(docs, FakeEmbedder(), config, log=lambda *_: None).chunks  # the next use rebuilds it


def test_two_indexing_runs_at_once_build_once_and_agree(config):
    grow(config.docs_dir, 10, "doc")
    procs = [subprocess.Popen(child(config), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1][-500:] for o in outs]
    logs = "".join(o[0] for o in outs)
    assert logs.count("indexed ") == 1 and logs.count("DONE") == 2  # the second waited, then loaded it
    docs, _ = load_folder(config.docs_dir)
    assert ix.is_current(ix.load(config.index_dir, FakeEmbedder(), config), docs)
