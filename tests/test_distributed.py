"""Ingestion on a real Ray local cluster (rag/storage/ray_workers.py) with the real encoder: the index
equals the single-process one, a killed worker loses and doubles nothing, and every Ray
listener is on loopback."""

from __future__ import annotations

import os
import signal

import numpy as np
import pytest

from rag.config import Config
from rag.ingest.library import documents
from rag.models.embed import MiniLM
from rag.storage import milvus_index as milvus
from rag.storage import ray_workers as distributed
from rag.storage.faiss_index import build
from tests.conftest import ROOT
from tests.test_milvus import LOOPBACK, listening

pytestmark = pytest.mark.integration

WORDS = ("market supply local global trade tariff factory farm energy water price wage port "
         "shipping culture language brand village city region policy").split()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The seed corpus plus 500 generated documents of one to three passages."""
    folder = tmp_path_factory.mktemp("corpus")
    for p in (ROOT / "seeds").iterdir():
        if p.is_file():
            (folder / p.name).write_bytes(p.read_bytes())
    rng = np.random.default_rng(7)
    for i in range(500):
        sentences = [" ".join(rng.choice(WORDS, rng.integers(6, 16))).capitalize() + "."
                     for _ in range(rng.integers(2, 30))]
        (folder / f"gen{i:03d}.txt").write_text(f"Generated note {i}\n\n" + " ".join(sentences))
    return folder


@pytest.fixture(scope="module")
def cluster():
    before = listening()
    workers_ray = distributed.start(cpus=2)
    yield workers_ray, listening() - before
    distributed.stop()


def config_for(corpus, tmp_path, **kw) -> Config:
    # blocks of 4 x 16 texts: ~20 blocks, so a worker can die in the middle
    return Config(docs_dir=corpus, uploads_dir=tmp_path / "uploads", index_dir=tmp_path / "index",
                  cache_dir=ROOT / ".cache", embed_batch=4, **kw)


def single_process(config):
    docs, _ = documents(config)
    return build(docs, MiniLM(), config)


def encoder_pids() -> list[int]:
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"_Encoder" in f.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return pids


def test_the_local_cluster_listens_on_loopback_only(cluster):
    _, new = cluster
    assert new and all(address in LOOPBACK for address, _ in new), new


def test_ray_builds_the_index_one_process_builds(cluster, corpus, tmp_path):
    config = config_for(corpus, tmp_path)
    workers = distributed.RayWorkers(config)
    docs, skipped = documents(config, workers.read)
    assert not skipped and len(docs) == 505
    ray_index = build(docs, MiniLM(), config, workers=workers)
    local = single_process(config)
    assert ray_index.chunks == local.chunks and len(local.chunks) > 900
    a = ray_index.vectors.reconstruct_n(0, ray_index.count)
    b = local.vectors.reconstruct_n(0, local.count)
    assert np.abs(a - b).max() <= 1e-5


def test_a_killed_worker_is_replaced_and_nothing_is_lost_or_indexed_twice(cluster, corpus, tmp_path):
    config = config_for(corpus, tmp_path, store="milvus", milvus_uri=str(tmp_path / "m" / "rag.db"))
    workers = distributed.RayWorkers(config)
    docs, _ = documents(config, workers.read)
    killed = []

    def kill_one_worker(p) -> None:  # once the first blocks are in, kill an encoder mid-run
        if p.chunks_done and not killed and p.chunks_done < p.chunks_total / 2:
            pids = encoder_pids()
            assert pids
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    from rag.storage import ensure

    index = ensure(docs, MiniLM(), config, log=lambda *_: None, progress=kill_one_worker, workers=workers)
    assert killed and killed[0] not in encoder_pids()
    local = single_process(config)
    db = milvus.client(config)
    rows = db.query("rag_chunks", filter="", output_fields=["id", "doc_id", "start", "end", "vector"], limit=10_000)
    assert len(rows) == len({r["id"] for r in rows}) == index.count == local.count  # none twice, none lost
    mine = {(r["doc_id"], r["start"], r["end"]): np.array(r["vector"], np.float32) for r in rows}
    theirs = local.vectors.reconstruct_n(0, local.count)
    for c, v in zip(local.chunks, theirs, strict=True):
        assert np.abs(mine[c.doc_id, c.start, c.end] - v).max() <= 1e-5


def test_cli_index_with_ray_writes_the_store(corpus, tmp_path):
    import subprocess
    import sys

    if distributed._ray().is_initialized():  # the CLI starts its own cluster
        distributed.stop()
    env = {**os.environ, "RAG_DOCS_DIR": str(ROOT / "seeds"), "RAG_INDEX_DIR": str(tmp_path / "index"),
           "RAG_UPLOADS_DIR": str(tmp_path / "uploads")}
    out = subprocess.run([sys.executable, "-m", "rag", "index", "--ray"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    assert "index ready: 33 chunks from 5 documents" in out.stdout

