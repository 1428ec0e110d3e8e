"""The evidence stage (rag/answering/evidence.py) on hand-made passages: what completes the best
sentence, list items, two documents, repeats, headings and navigation lines."""

import numpy as np
import pytest

from rag.answering import evidence
from rag.answering import question as asks
from rag.types import Chunk, Hit


def hits(*texts, doc_ids=None):
    doc_ids = doc_ids or [f"d{i}" for i in range(len(texts))]
    return [Hit(Chunk(d, 0, len(t), t), f"Title {d}", 1.0 - i / 10, i, 0.5) for i, (t, d) in
            enumerate(zip(texts, doc_ids, strict=True))]


def choose(question, found, best, cos=None):
    """Choose evidence with the sentence containing `best` scored highest (a stand-in for the
    cosine), every other sentence scored by its words alone."""
    cands = evidence.candidates(found)
    cos = np.array([0.9 if best in c.text else 0.2 for c in cands], np.float32) if cos is None else cos
    return evidence.select(asks.read(question), cands, cos, {}).sentences


def test_candidates_carry_offsets_and_skip_headings_navigation_and_urls():
    text = ("Skip to content\nMata Traders's founding team\nSee our entry on the Law of Locality\n"
            "(http://www.relocalize.net/)\nMata works with artisans in India and Nepal.\nJanuary 30th, 2024")
    cands = evidence.candidates(hits(text))
    assert [c.text for c in cands] == ["Mata works with artisans in India and Nepal.", "January 30th, 2024"]
    assert all(text[c.start:c.end] == c.text for c in cands)


def test_a_sentence_that_starts_with_they_brings_its_subject():
    found = hits("Mata is a fair trade enterprise in Chicago. They work with artisans to make apparel and jewelry.")
    chosen = choose("What do Mata's artisans make?", found, "They work")
    assert [s.role for s in chosen][:2] == ["previous", "match"]
    assert "apparel" in " ".join(s.text for s in chosen)


def test_the_next_sentence_completes_one_that_only_restates_the_question():
    found = hits("Picture a world map of accountability. The tools exist and the knowledge exists. "
                 "What remains uncertain is resolve. Globalization connected the world.")
    chosen = choose("The tools and the knowledge exist. What remains uncertain?", found, "The tools exist")
    assert "resolve" in " ".join(s.text for s in chosen)


def test_a_list_question_gets_the_sentences_that_continue_the_list():
    found = hits("Concern about the fossil fuel economy is one prompt for change. There are those who cite "
                 "depletion of reserves. Still others claim consumption harms the environment. And there are "
                 "those who cite political ramifications. These are powerful factors for change.")
    chosen = choose("Which worries does the author list as prompts for change?", found, "Concern about")
    said = " ".join(s.text for s in chosen)
    assert {"depletion", "environment", "ramifications"} <= set(said.replace(".", "").split())
    assert len(chosen) <= evidence.MAX_SENTENCES


def test_a_question_about_two_documents_gets_evidence_from_both():
    found = hits("Mata Traders runs a global e-commerce platform for artisans.",
                 "Farmers keep seeds from their harvest.",
                 "WeRobotics globalizes local knowledge through inclusive networks.")
    cands = evidence.candidates(found)
    cos = np.array([0.8, 0.1, 0.7], np.float32)
    q = asks.read("How do Mata Traders and WeRobotics each reach a global stage?")
    chosen = evidence.select(q, cands, cos, {}).sentences
    assert {found[s.passage - 1].chunk.doc_id for s in chosen} == {"d0", "d2"}


def test_a_sentence_repeated_by_overlapping_passages_is_taken_once():
    a = "SoULS is an initiative of IIT Bombay. Rural women assemble the lamps."
    found = hits(a, a.replace("of IIT", "of  IIT"), doc_ids=["d0", "d0"])
    chosen = choose("What is SoULS?", found, "SoULS is")
    texts = [" ".join(s.text.split()) for s in chosen]
    assert len(texts) == len(set(texts))


def test_evidence_follows_document_order_within_a_document():
    found = hits("Alpha starts here with words. Beta continues the story. Gamma ends the story well.")
    cands = evidence.candidates(found)
    cos = np.array([0.3, 0.2, 0.9], np.float32)
    chosen = evidence.select(asks.read("How does the story end with gamma?"), cands, cos, {}).sentences
    offsets = [s.start for s in chosen]
    assert offsets == sorted(offsets) and chosen[-1].role == "match"


def test_a_question_about_publishing_reads_the_date_line():
    found = hits("Glocalization\nJanuary 30th, 2024\nOur work at WeRobotics localizes robotics technologies.")
    chosen = choose("On what date did WeRobotics publish its post?", found, "Our work")
    assert any(s.role == "dated" and "2024" in s.text for s in chosen)


def test_a_date_line_that_is_itself_the_best_match_stays_the_match():
    found = hits("Harbour Notes\nPosted on March 3rd, 2021 by the harbour team\nThe ferry to the island runs twice "
                 "a day in summer.")
    chosen = choose("When was the harbour post published?", found, "Posted on")
    assert [s.role for s in chosen if "2021" in s.text] == ["match"]


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


def test_a_list_already_in_the_best_sentence_is_not_extended():
    found = hits("Mata is a fair trade enterprise. They work with artisans to make apparel, jewelry and "
                 "accessories. They sell this merchandise in 50 states. And they run a shop.")
    chosen = choose("What kinds of goods do Mata's artisans make?", found, "They work")
    assert not any(s.role == "list" for s in chosen)


def test_a_why_question_prefers_the_sentence_that_gives_a_reason():
    found = hits("Finding a middle ground is essential, many say. Finding a balance is essential for "
                 "sustainable development.")
    cands = evidence.candidates(found)
    cos = np.array([0.5, 0.85], np.float32)

    def best(question):
        chosen = evidence.select(asks.read(question), cands, cos, {}).sentences
        return next(s for s in chosen if s.role == "match").text

    assert best("Why is finding a middle ground essential?").startswith("Finding a balance")
    assert best("Is finding a middle ground essential?").startswith("Finding a middle ground")
