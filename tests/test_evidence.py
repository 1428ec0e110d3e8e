"""The evidence stage (rag/answering/evidence.py) on hand-made passages: what completes the best
sentence, list items, two documents, repeats, headings and navigation lines."""

import numpy as np
import pytest

from rag.answering import evidence, features
from rag.answering import question as asks
from rag.types import Chunk, Hit


def hits(*texts, doc_ids=None):
    doc_ids = doc_ids or [f"d{i}" for i in range(len(texts))]
    return [Hit(Chunk(d, 0, len(t), t), f"Title {d}", 1.0 - i / 10, i, 0.5) for i, (t, d) in
            enumerate(zip(texts, doc_ids, strict=True))]


SETTINGS = {"neighbour": 0.7, "also": 0.8, "part": 0.5}


def pick(question, found, scores, settings=SETTINGS):
    """The evidence chosen when the ranker gives the candidates `scores`."""
    cands = evidence.candidates(found)
    return evidence.choose(asks.read(question), cands, np.array(scores, float), settings)


def test_candidates_carry_offsets_and_skip_headings_navigation_and_urls():
    text = ("Skip to content\nMata Traders's founding team\nSee our entry on the Law of Locality\n"
            "(http://www.relocalize.net/)\nMata works with artisans in India and Nepal.\nJanuary 30th, 2024")
    cands = evidence.candidates(hits(text))
    assert [c.text for c in cands] == ["Mata works with artisans in India and Nepal.", "January 30th, 2024"]
    assert all(text[c.start:c.end] == c.text for c in cands)


def test_a_sentence_that_starts_with_they_brings_its_subject():
    found = hits("Mata is a fair trade enterprise in Chicago. They work with artisans to make apparel and jewelry.")
    chosen = pick("What do the artisans make?", found, [0.1, 0.9])
    assert [s.role for s in chosen] == ["previous", "match"]


def test_neighbours_join_while_the_ranker_rates_them_close_to_the_best():
    found = hits("The ferry leaves at dawn. It carries mail to the islands. The mail is sorted on board. "
                 "Tickets are sold at the pier.")
    chosen = pick("What does the ferry carry?", found, [0.2, 0.9, 0.7, 0.1])
    assert [s.text.split()[1] for s in chosen] == ["ferry", "carries", "mail"]  # "It ..." brings its subject
    assert [s.role for s in chosen] == ["previous", "match", "next"]
    alone = pick("What does the ferry carry?", found, [0.2, 0.9, 0.7, 0.1], {**SETTINGS, "neighbour": 2.0})
    assert "sorted" not in " ".join(s.text for s in alone)


def test_a_list_question_continues_the_enumeration_the_ranker_rates():
    found = hits("Repair cafes mend many things. Some volunteers fix old bicycles. Other volunteers sew torn clothes. "
                 "The cafe opens on Sundays.")
    chosen = pick("What kinds of things do repair cafes mend?", found, [0.5, 0.9, 0.8, 0.05])
    assert [s.role for s in chosen] == ["match", "list"]


def test_a_question_about_two_documents_gets_evidence_from_both():
    found = hits("The harbour museum shows old ships.", "Bakers rise early.", "The rail museum shows old engines.")
    chosen = pick("What do the harbour museum and the rail museum each show?", found, [0.9, 0.1, 0.5])
    assert {found[s.passage - 1].chunk.doc_id for s in chosen} == {"d0", "d2"}
    assert [s.role for s in chosen] == ["match", "part"]
    one = pick("What does the harbour museum show?", found, [0.9, 0.1, 0.5])
    assert len(one) == 1


def test_a_sentence_repeated_by_overlapping_passages_is_taken_once():
    a = "The guild is a cooperative of weavers. Members share looms and sell together."
    found = hits(a, a.replace("of weavers", "of  weavers"), doc_ids=["d0", "d0"])
    chosen = pick("What is the guild?", found, [0.9, 0.85, 0.88, 0.84])
    texts = [" ".join(s.text.split()) for s in chosen]
    assert len(texts) == len(set(texts))


def test_evidence_follows_document_order_within_a_document():
    found = hits("Alpha starts here with words. Beta continues the story. Gamma ends the story well.")
    chosen = pick("How does the story end with gamma?", found, [0.85, 0.1, 0.9])
    offsets = [s.start for s in chosen]
    assert offsets == sorted(offsets) and chosen[-1].role == "match"


def test_the_fitted_ranker_prefers_the_sentence_that_states_what_is_asked():
    found = hits("The Riverside Tool Library lends drills to its neighbours every weekend. "
                 "The Riverside Tool Library was founded by Priya Olsen in 2016.")
    cands = evidence.candidates(found)
    text = found[0].chunk.text
    tags = [((text.index("Priya"), text.index("Priya") + 11, "person"), (text.index("2016"), text.index("2016") + 4,
                                                                         "date"))]
    for question, best in (("Who founded the Riverside Tool Library?", "Priya"),
                           ("When was the Riverside Tool Library founded?", "2016")):
        sel = evidence.select(asks.read(question), cands, np.array([0.6, 0.6], np.float32), {}, found, tags)
        assert best in cands[sel.best].text and sel.ranked[sel.best] > sel.ranked[1 - sel.best]
        assert sel.rows.shape == (2, len(features.SENTENCE_FEATURES))
        assert sel.rows[sel.best, features.SENTENCE_FEATURES.index("kind_match")] == 1


@pytest.mark.parametrize("question, kind", [
    ("How many lamps were sold?", "number"), ("When was it founded?", "date"),
    ("How long has Mata been in business?", "date"), ("Who founded the Riverside Tool Library?", "person"),
    ("Who are the Haqdarshaks?", None), ("Whom did leaders blame?", None), ("Who repairs the lamps?", None),
    ("Who coined the term?", "person"), ("Who wrote the book?", "person"), ("What is SoULS?", None)])
def test_what_a_question_asks_for(question, kind):
    assert asks.asked_type(question) == kind


def test_what_a_sentence_states():
    assert asks.holds_type(asks.read("When did it happen?"), "It leapt forward over the last 250 years.")
    assert not asks.holds_type(asks.read("When did it happen?"), "They work with more than 1000 artisans.")
    assert asks.holds_type(asks.read("How many artisans?"), "They work with more than 1000 artisans.")
    who = asks.read("Who founded the Riverside Tool Library?")
    assert not asks.holds_type(who, "The Riverside Tool Library lends drills to neighbours.")
    assert asks.holds_type(who, "It was founded by Priya Olsen in 2016.")


def test_idf_weighs_rare_words_more():
    from rag.storage import bm25 as lexical

    model = lexical.build(["solar lamps in villages", "solar panels on roofs", "local markets sell food"])
    idf = lexical.idf_table(model)
    assert idf["villag"] > idf["solar"]


def test_a_fact_stated_for_another_place_is_not_the_answer():
    q = "How many artisans does Mata Traders employ in Chicago?"
    assert asks.conflicts(asks.read(q), "They work with more than 1000 women artisans in India and Nepal.")
    assert not asks.conflicts(asks.read(q), "In Chicago, Mata employs 12 artisans.")
    other = asks.read("How many artisans does Mata employ?")
    assert not asks.conflicts(other, "They work with 1000 artisans in India.")
