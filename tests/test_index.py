import dataclasses
import json

import numpy as np
import pytest

from rag.errors import BadIndexError
from rag.ingest.read import load_folder
from rag.storage import bm25 as lexical
from rag.storage import faiss_index as ix
from rag.storage.base import FORMAT
from rag.storage.retrieve import search
from rag.text import SENTENCES
from tests.conftest import FakeEmbedder


def built(config, embedder=None):
    docs, _ = load_folder(config.docs_dir)
    return docs, ix.ensure(docs, embedder or FakeEmbedder(), config, log=lambda *_: None)


def test_build_save_load_round_trip(config):
    docs, index = built(config)
    loaded = ix.load(config.index_dir, FakeEmbedder(), config)
    assert loaded.chunks == index.chunks
    assert loaded.vectors.ntotal == len(index.chunks)
    m = loaded.manifest
    assert m["format"] == FORMAT and m["embedding_model"] == "fake-bag-of-words" and m["dim"] == 64
    assert m["chunking"] == {"tokenizer": "cl100k_base", "max_tokens": 40, "overlap": 8, "sentences": SENTENCES}
    assert {k: v["sha256"] for k, v in m["documents"].items()} == {d.id: d.sha256 for d in docs}


def test_manifest_mismatch_is_refused(config):
    built(config)
    with pytest.raises(BadIndexError, match="chunking"):
        ix.load(config.index_dir, FakeEmbedder(), config.with_(chunk_tokens=50))

    class Other(FakeEmbedder):
        name = "another-model"

    with pytest.raises(BadIndexError, match="embedding_model.*rebuild"):
        ix.load(config.index_dir, Other(), config)


def test_corrupted_file_is_detected(config):
    built(config)
    snap = config.index_dir / "snapshots" / (config.index_dir / "CURRENT").read_text().strip()
    with open(snap / "vectors.faiss", "r+b") as f:
        f.seek(60)
        f.write(b"\xff\xff\xff\xff")
    with pytest.raises(BadIndexError, match="corrupted"):
        ix.load(config.index_dir, FakeEmbedder(), config)


def test_changed_documents_rebuild_and_only_new_text_is_embedded(config):
    docs, first = built(config)
    (config.docs_dir / "farms.txt").write_text("Farmers swap seeds at the village fair every spring.")
    (config.docs_dir / "new.txt").write_text("A brand new document about regional currencies.")
    embedder = FakeEmbedder()
    docs, second = built(config, embedder)
    changed = [c for c in second.chunks if c.doc_id in ("farms", "new")]
    assert sum(embedder.calls) == len(changed)  # the unchanged documents were reused
    assert "new" in second.manifest["documents"]
    again = FakeEmbedder()
    built(config, again)
    assert again.calls == []  # up to date: nothing embedded


def test_a_killed_build_leaves_the_previous_index(config, monkeypatch):
    docs, first = built(config)

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # as if killed mid-write

    monkeypatch.setattr(ix, "_sha256_file", crash)
    docs[0] = docs[0].__class__(docs[0].id, "t", "changed text.", "p", "sha")
    with pytest.raises(KeyboardInterrupt):
        ix.save(ix.build(docs, FakeEmbedder(), config), config.index_dir)
    monkeypatch.undo()
    loaded = ix.load(config.index_dir, FakeEmbedder(), config)
    assert loaded.chunks == first.chunks
    assert not [p for p in (config.index_dir / "snapshots").iterdir() if p.name.startswith(".tmp")]


def test_leftovers_of_a_killed_build_do_not_matter(config):
    built(config)
    (config.index_dir / "snapshots" / ".tmp-dead").mkdir()
    (config.index_dir / "snapshots" / ".tmp-dead" / "vectors.faiss").write_bytes(b"half")
    docs, index = built(config)
    assert ix.load(config.index_dir, FakeEmbedder(), config).chunks == index.chunks


def test_missing_index_says_how_to_build(config):
    with pytest.raises(BadIndexError, match="python -m rag index"):
        ix.load(config.index_dir, FakeEmbedder(), config)


def test_manifest_is_json_with_checksums(config):
    built(config)
    snap = config.index_dir / "snapshots" / (config.index_dir / "CURRENT").read_text().strip()
    m = json.loads((snap / "manifest.json").read_text())
    assert {"chunks.jsonl", "vectors.faiss", "bm25/vocab.index.json"} <= set(m["files"])
    assert all(len(digest) == 64 for digest in m["files"].values())


@pytest.mark.parametrize("n,k", [(5, 3), (17, 5), (101, 17)])
def test_search_matches_brute_force(config, n, k):
    rng = np.random.default_rng(n)
    vecs = rng.normal(size=(n, 64)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    chunks = [ix.Chunk("d", i, i + 1, "x") for i in range(n)]
    index = ix.Index({"documents": {"d": {"title": "T"}}}, chunks, ix.vector_index(vecs, 64), lexical.build(["x"] * n))
    q = vecs[0] + 0.1 * rng.normal(size=64).astype(np.float32)
    q /= np.linalg.norm(q)
    hits = search(index, q, "no shared words", k, pool=3)  # BM25 scores all zero: dense decides
    expected = np.argsort(-(vecs @ q))[:k]
    assert [h.row for h in hits] == list(expected)
    assert np.allclose([h.similarity for h in hits], (vecs @ q)[expected], atol=1e-5)


def test_a_lexical_settings_change_rebuilds_without_re_embedding(config, monkeypatch):
    built(config)
    monkeypatch.setattr(ix.bm25, "K1", 1.7)  # as if BM25 settings changed in a new release
    with pytest.raises(BadIndexError, match="lexical"):
        ix.load(config.index_dir, FakeEmbedder(), config)
    embedder = FakeEmbedder()
    docs, index = built(config, embedder)
    assert embedder.calls == [] and index.manifest["lexical"]["k1"] == 1.7


def test_large_corpora_get_hnsw_with_recall_near_exact():
    """100k clustered 384-d vectors: the index type switches to HNSW, and its recall@10
    against exact search is >= 0.98."""
    import faiss

    rng = np.random.default_rng(0)
    n, d = 100_000, 384
    centers = rng.normal(size=(2000, d)).astype(np.float32)
    x = centers[rng.integers(0, 2000, n)] + 0.25 * rng.normal(size=(n, d)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    q = x[rng.integers(0, n, 200)] + 0.1 * rng.normal(size=(200, d)).astype(np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    assert isinstance(ix.vector_index(x[:1000], d), faiss.IndexFlatIP)
    approx = ix.vector_index(x, d)
    assert isinstance(approx, faiss.IndexHNSWFlat)
    exact = faiss.IndexFlatIP(d)
    exact.add(x)
    _, want = exact.search(q, 10)
    _, got = approx.search(q, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(want, got, strict=True)])
    assert recall >= 0.98
    assert np.allclose(approx.reconstruct_batch(np.array([0, 5])), x[[0, 5]])  # rows stay fetchable


def test_a_build_reports_its_progress_by_chunks_and_documents(config):
    docs, _ = load_folder(config.docs_dir)
    seen = []
    first = ix.build(docs, FakeEmbedder(), config, progress=seen.append)
    assert seen[0].chunks_done == 0 and seen[-1].chunks_done == seen[-1].chunks_total == len(first.chunks)
    assert [p.chunks_done for p in seen] == sorted(p.chunks_done for p in seen)
    assert seen[-1].documents_done == seen[-1].documents_total == len(docs)
    seen.clear()  # a rebuild with one document changed: the others count as done from the start
    changed = [dataclasses.replace(docs[0], text=docs[0].text + " More words.", sha256="x"), *docs[1:]]
    ix.build(changed, FakeEmbedder(), config, previous=first, progress=seen.append)
    assert seen[0].documents_done == len(docs) - 1 and seen[-1].chunks_total < len(first.chunks)
