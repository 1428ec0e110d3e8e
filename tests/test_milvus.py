"""The Milvus store (rag/storage/milvus_index.py) on a real Milvus Lite, beside the FAISS store: same
passages, same answers, documents added and removed, killed runs and changed settings."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from rag.pipeline import Pipeline
from rag.storage import milvus_build
from rag.storage import milvus_index as milvus
from rag.storage.retrieve import search
from rag.text import stems
from tests.conftest import ROOT, FakeEmbedder, FakeGenerator

QUESTIONS = ["Who repairs the solar lamps?", "What do critics say about globalization?",
             "Where do farmers sell vegetables?", "SoULS Bihar", "food miles"]


def listening() -> set[tuple[str, int]]:
    """(address, port) of every TCP socket listening on this machine (/proc/net/tcp{,6})."""
    out = set()
    for name in ("tcp", "tcp6"):
        with open(f"/proc/net/{name}") as f:
            for line in list(f)[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A":  # LISTEN
                    address, port = local.split(":")
                    out.add((address, int(port, 16)))
    return out


# 127.0.0.1, ::1 and ::ffff:127.0.0.1, as /proc writes them
LOOPBACK = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


@pytest.fixture
def milvus_config(config, tmp_path):
    return config.with_(store="milvus", milvus_uri=str(tmp_path / "milvus" / "rag.db"))


def pipelines(config, milvus_config):
    embedder = FakeEmbedder()
    return (Pipeline(config, embedder=embedder, generator=FakeGenerator(), log=lambda *_: None),
            Pipeline(milvus_config, embedder=embedder, generator=FakeGenerator(), log=lambda *_: None))


def test_milvus_finds_the_passages_faiss_finds_with_the_same_scores(config, milvus_config):
    """Same chunks, same cosine, same BM25 (its sparse vectors score what bm25s scores)."""
    before = listening()
    faiss_pipe, milvus_pipe = pipelines(config, milvus_config)
    f, m = faiss_pipe.index, milvus_pipe.index
    new = listening() - before
    assert not new, new  # Milvus Lite's server listens on a Unix socket: no TCP port at all
    assert type(m).__name__ == "MilvusIndex" and m.count == f.count
    assert m.manifest["documents"].keys() == f.manifest["documents"].keys()
    for q in QUESTIONS:
        vec = faiss_pipe.embedder.encode([q])[0]
        a, b = search(f, vec, q, 4), search(m, vec, q, 4)
        assert [(h.chunk, round(h.similarity, 4), round(h.score, 4)) for h in a] == \
               [(h.chunk, round(h.similarity, 4), round(h.score, 4)) for h in b]
        rows, chunks, cos, bm25 = f.candidates(vec, q, 100)
        mrows, mchunks, mcos, mbm25 = m.candidates(vec, q, 100)
        theirs = dict(zip(mchunks, mbm25, strict=True))
        assert all(abs(theirs.get(c, 0.0) - s) < 1e-4 for c, s in zip(chunks, bm25, strict=True))
        assert np.allclose(f.vectors_of([h.row for h in a]), m.vectors_of([h.row for h in b]), atol=1e-6)
    tokens = stems(QUESTIONS)[0] + ["nowhereword"]
    assert m.idf(tokens) == pytest.approx(f.idf(tokens), abs=1e-6)


def test_answers_and_catalogue_are_the_same_over_either_store(config, milvus_config):
    faiss_pipe, milvus_pipe = pipelines(config, milvus_config)
    assert milvus_pipe.catalogue() == faiss_pipe.catalogue()
    for q in QUESTIONS:
        a, b = faiss_pipe.answer(q), milvus_pipe.answer(q)
        assert (a.text, a.abstained, [(c.doc_id, c.start) for c in a.citations]) == \
               (b.text, b.abstained, [(c.doc_id, c.start) for c in b.citations])


def test_documents_added_and_removed_go_to_milvus(milvus_config, tmp_path):
    pipe = Pipeline(milvus_config, embedder=FakeEmbedder(), generator=FakeGenerator(), log=lambda *_: None)
    count = pipe.index.count
    new = tmp_path / "Tidal Mills.txt"
    new.write_text("Tidal Mills\n\nA tidal mill grinds grain with the ebb of the sea in Brittany.")
    (added,), skipped = pipe.add([new])
    assert not skipped and pipe.index.count > count and added.id in pipe.index.manifest["documents"]
    vec = pipe.embedder.encode(["tidal mill Brittany"])[0]
    assert search(pipe.index, vec, "tidal mill Brittany", 1)[0].chunk.doc_id == added.id
    embedded = sum(pipe.embedder.calls)
    again = Pipeline(milvus_config, embedder=pipe.embedder, generator=FakeGenerator(), log=lambda *_: None)
    assert again.index.count == pipe.index.count and sum(pipe.embedder.calls) == embedded  # nothing re-embedded
    assert pipe.remove(added.id)
    assert pipe.index.count == count and added.id not in pipe.index.manifest["documents"]
    hits = search(pipe.index, vec, "tidal mill Brittany", 10)
    assert added.id not in {h.chunk.doc_id for h in hits}


def test_a_killed_run_is_completed_by_the_next_without_duplicates(config, milvus_config, monkeypatch):
    real = milvus_build._count_terms

    def killed(*args):  # the chunks are in, their terms and manifest rows are not
        raise KeyboardInterrupt

    monkeypatch.setattr(milvus_build, "_count_terms", killed)
    pipe = Pipeline(milvus_config, embedder=FakeEmbedder(), generator=FakeGenerator(), log=lambda *_: None)
    with pytest.raises(KeyboardInterrupt):
        pipe.load_index()
    monkeypatch.setattr(milvus_build, "_count_terms", real)
    db = milvus.client(milvus_config)
    assert db.query("rag_chunks", filter="", output_fields=["count(*)"])[0]["count(*)"] > 0  # orphans left behind
    index = Pipeline(milvus_config, embedder=FakeEmbedder(), generator=FakeGenerator(), log=lambda *_: None).index
    faiss_index = Pipeline(config, embedder=FakeEmbedder(), generator=FakeGenerator(), log=lambda *_: None).index
    ids = [r["id"] for r in db.query("rag_chunks", filter="", output_fields=["id"], limit=10_000)]
    assert len(ids) == len(set(ids)) == faiss_index.count == index.count
    words = sorted({w for q in QUESTIONS for w in stems([q])[0]})
    assert index.idf(words) == pytest.approx(faiss_index.idf(words), abs=1e-6)  # term counts right again


def test_a_change_of_embedding_model_rebuilds_the_collections(milvus_config):
    logs = []
    Pipeline(milvus_config, embedder=FakeEmbedder(), generator=FakeGenerator(), log=logs.append).load_index()

    class Other(FakeEmbedder):
        name = "another-model"

    index = Pipeline(milvus_config, embedder=Other(), generator=FakeGenerator(), log=logs.append).index
    assert any("rebuilding the Milvus collections (embedding_model changed)" in m for m in logs)
    assert index.manifest["embedding_model"] == "another-model" and index.count > 0


def test_an_unknown_store_is_refused_with_the_choices(tmp_path):
    env = {**os.environ, "RAG_STORE": "elastic", "RAG_INDEX_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-m", "rag", "index"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2 and "RAG_STORE='elastic' cannot work: it takes one of faiss, milvus" in out.stderr


def test_the_default_store_imports_neither_pymilvus_nor_ray(tmp_path, corpus):
    code = ("import sys; from pathlib import Path; from rag.config import Config; from rag.pipeline import Pipeline; "
            "from tests.conftest import FakeEmbedder, FakeGenerator; "
            f"p = Pipeline(Config(docs_dir=Path({str(corpus)!r}), index_dir=Path({str(tmp_path / 'ix')!r})), "
            "embedder=FakeEmbedder(), generator=FakeGenerator(), log=lambda *_: None); p.answer('solar lamps'); "
            "print(sorted(m for m in ('pymilvus', 'milvus_lite', 'ray') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={k: v for k, v in os.environ.items() if not k.startswith("RAG_")})
    assert out.stdout.strip() == "[]", out.stderr[-2000:]


SERVER = os.environ.get("RAG_MILVUS_URI", "")


@pytest.mark.skipif("://" not in SERVER, reason="needs RAG_MILVUS_URI=http://host:19530 (a Milvus server)")
def test_a_milvus_server_serves_what_milvus_lite_serves(config, milvus_config):
    """The same checks against a real server (deploy/milvus/docker-compose.yml), in
    collections of the test's own, dropped at the end."""
    import uuid

    name = f"rag_test_{uuid.uuid4().hex[:8]}"
    server = config.with_(store="milvus", milvus_uri=SERVER, milvus_token=os.environ.get("RAG_MILVUS_TOKEN", ""),
                          milvus_collection=name)
    try:
        lite, remote = pipelines(milvus_config, server)
        assert remote.index.count == lite.index.count
        for q in QUESTIONS:
            a, b = lite.answer(q), remote.answer(q)
            assert (a.text, [(c.doc_id, c.start) for c in a.citations]) == \
                   (b.text, [(c.doc_id, c.start) for c in b.citations])
    finally:
        db = milvus.client(server)
        for suffix in ("_chunks", "_documents"):
            if db.has_collection(name + suffix):
                db.drop_collection(name + suffix)
