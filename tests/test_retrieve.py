import numpy as np
import pytest

from rag.ingest.read import load_folder
from rag.storage import bm25 as lexical
from rag.storage import ensure
from rag.storage import retrieve as rt
from tests.conftest import FakeEmbedder


def test_zscore_fusion_by_hand():
    cos = np.array([0.9, 0.5, 0.1])  # mean 0.5, std sqrt(0.32/3) -> z = +1.2247, 0, -1.2247
    bm25 = np.array([0.0, 4.0, 8.0])  # z = -1.2247, 0, +1.2247
    z = np.sqrt(1.5)
    assert np.allclose(rt.fuse_zscore(cos, bm25, alpha=0.5), [0, 0, 0])
    assert np.allclose(rt.fuse_zscore(cos, bm25, alpha=0.75), [0.5 * z, 0, -0.5 * z])
    assert np.allclose(rt.fuse_zscore(cos, np.zeros(3), alpha=0.5), [0.5 * z, 0, -0.5 * z])  # no BM25 evidence


def test_rrf_by_hand():
    cos = np.array([0.9, 0.5, 0.1])  # ranks 1, 2, 3
    bm25 = np.array([0.0, 4.0, 8.0])  # ranks 3, 2, 1
    k = rt.RRF_K
    assert np.allclose(rt.fuse_rrf(cos, bm25), [1 / (k + 1) + 1 / (k + 3), 2 / (k + 2), 1 / (k + 3) + 1 / (k + 1)])


def test_bm25_prefers_the_rare_exact_word():
    texts = ["solar lamps for villages", "markets sell vegetables", "the SoULS project assembles lamps"]
    s = lexical.scores(lexical.build(texts), "What is SoULS?")
    assert s.argmax() == 2 and s[1] == 0
    assert lexical.scores(lexical.build(texts), "the of and").tolist() == [0, 0, 0]


def test_stemming_matches_word_forms():
    s = lexical.scores(lexical.build(["farmers keep seeds", "towns and cities"]), "seed town")
    assert s[0] > 0 and s[1] > 0


@pytest.fixture
def tiny_index(config):
    docs, _ = load_folder(config.docs_dir)
    return ensure(docs, FakeEmbedder(), config, log=lambda *_: None)


def test_hybrid_finds_each_document_by_its_words(tiny_index):
    e = FakeEmbedder()
    for question, doc in [("Who repairs the SoULS lamps?", "solar"), ("Do critics say trade hurts towns?", "trade"),
                          ("Where do farms sell vegetables?", "farms")]:
        hits = rt.search(tiny_index, e.encode([question])[0], question, 2)
        assert hits[0].chunk.doc_id == doc
        assert hits[0].score >= hits[1].score and -1 <= hits[1].similarity <= 1


def test_dense_only_and_bm25_only_are_the_extremes(tiny_index):
    e = FakeEmbedder()
    q = "solar lamps repaired"
    v = e.encode([q])[0]
    dense = rt.search(tiny_index, v, q, 3, alpha=1.0)
    assert [h.similarity for h in dense] == sorted((h.similarity for h in dense), reverse=True)
    sparse = rt.search(tiny_index, v, q, 3, alpha=0.0)
    bm = lexical.scores(tiny_index.bm25, q)
    assert [h.row for h in sparse][:1] == [int(bm.argmax())]
