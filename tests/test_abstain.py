"""The decision to answer (rag/answering/abstain.py), on hand-made evidence."""

import numpy as np
from conftest import FakeTagger

from rag.answering import evidence
from rag.answering.abstain import assess, refusal
from rag.answering.question import read
from rag.config import Config
from rag.storage import bm25 as lexical
from rag.types import Chunk, Hit


def hit(text, similarity, doc="d"):
    return Hit(Chunk(doc, 0, len(text), text), "Title", similarity, 0, similarity)


def judge(question, text, similarity, config=None):
    """The assessment of one passage whose sentences all have cosine `similarity`."""
    found = [hit(text, similarity)]
    cands = evidence.candidates(found)
    idf = lexical.idf_table(lexical.build([text, "Other passages about other things."]))
    sel = evidence.select(read(question), cands, np.full(len(cands), similarity, np.float32), idf, found,
                          FakeTagger().tag([text]))
    return assess(read(question), found, sel, config or Config())


def test_off_topic_question_is_refused_and_says_what_is_missing():
    a = judge("What was the GDP of France in 2019?", "Local farms sell food at weekly markets.", 0.1)
    assert not a.answerable and a.confidence < 0.2
    assert "won't guess" in refusal(a)


def test_well_matched_passage_is_answered():
    a = judge("Who repairs the SoULS lamps?", "Local women repair the SoULS lamps in Bihar.", 0.75)
    assert a.answerable and a.features["sentence_overlap"] == 1 and a.confidence > 0.5


def test_confidence_grows_with_similarity_and_shared_words():
    q = "Who repairs the SoULS lamps in Bihar?"
    low = judge(q, "Local women repair old lamps at home.", 0.4)
    assert judge(q, "Local women repair old lamps at home.", 0.7).confidence > low.confidence


def test_a_number_question_without_a_number_in_the_evidence_is_refused():
    a = judge("How many solar lamps has SoULS distributed?", "SoULS lamps are assembled and repaired by local women.",
              0.8)
    assert a.type_missing and not a.answerable
    assert "none states what you asked for" in refusal(a)
    b = judge("How many solar lamps has SoULS distributed?", "SoULS has distributed 5000 lamps to rural women.", 0.8)
    assert not b.type_missing and b.answerable


def test_a_question_whose_names_the_evidence_lacks_is_refused():
    a = judge("What does the Rule of Thirds say?", "Localization brings production nearer to end users.", 0.6)
    assert a.features["names_missing"] == 1 and not a.answerable


def test_the_refusal_names_the_questions_own_words():
    a = judge("How are routers distributed across offices?", "Local farms sell food at weekly markets.", 0.1)
    assert not a.answerable and "distributed" in a.missing and "routers" in a.missing
    assert "distributed" in refusal(a) and "distribut," not in refusal(a)


def test_no_hits_abstain():
    sel = evidence.select(read("Anything?"), [], np.zeros(0, np.float32), {}, [], [])
    assert not assess(read("Anything?"), [], sel, Config()).answerable


def test_threshold_comes_from_the_config():
    q, text = "Who repairs the SoULS lamps?", "Local women repair the SoULS lamps in Bihar."
    a = judge(q, text, 0.6)
    assert a.answerable and not judge(q, text, 0.6, Config(min_confidence=a.confidence + 0.01)).answerable
