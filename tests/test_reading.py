"""Follow-ups read as questions of their own, and summaries of the document asked about
(made-up text)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import FakeEmbedder

from rag.answering import summary
from rag.answering.evidence import Candidate
from rag.answering.question import read, resolve, subject
from rag.pipeline import Pipeline
from rag.types import Document


def test_a_pronoun_is_read_as_the_last_turns_main_name():
    assert resolve("Where are their workshops?", [("What is Pelqurat?", "")]) == "Where are Pelqurat's workshops?"
    assert resolve("Who founded it?", [("Tell me about Mata Traders.", "")]) == "Who founded Mata Traders?"
    assert resolve("What is its goal?", [("what does the group do", "Pelqurat repairs bikes. [1]")]) == \
        "What is Pelqurat's goal?"  # no name in the question: the answer's


def test_a_question_that_names_nothing_is_read_with_the_one_it_follows():
    q = read("Why?", [("Did the cooperative close its shop?", "")])
    assert q.text == "Why? Did the cooperative close its shop?" and q.kind == "reason"


def test_a_question_of_its_own_is_left_alone():
    assert resolve("What is glocalization?", [("What is Pelqurat?", "")]) == "What is glocalization?"
    assert resolve("Where are their workshops?", None) == "Where are their workshops?"
    assert subject("According to the essay, did it fail?") is None


@pytest.mark.parametrize("question", ["Summarize the essay on repair cafes.", "Give me a short overview of the report.",
                                      "What is the main message of the farming article?", "tl;dr of the post",
                                      "What is the cooperative report about?"])
def test_summary_requests_are_recognised(question):
    assert summary.asks_summary(question)


@pytest.mark.parametrize("question", ["What is Pelqurat about?", "Who summarized the report?", "What is a summary?"])
def test_other_questions_are_not_summary_requests(question):
    assert not summary.asks_summary(question)


def test_the_topic_leaves_out_the_words_that_ask_for_a_summary():
    assert summary.topic("Summarize the essay on repair cafes.") == "on repair cafes."


def cands(texts):
    out, at = [], 0
    for i, t in enumerate(texts):
        out.append(Candidate(1, i, at, at + len(t), t, "doc", at))
        at += len(t) + 1
    return out


def test_a_summary_covers_the_beginning_middle_and_end_within_its_word_limit():
    texts = [f"Sentence number {i} says something about repair cafes and their neighbours here." for i in range(30)]
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(30, 16)) + 3.0  # a shared direction: every sentence is about the same thing
    picked = summary.choose(cands(texts), vectors)
    assert summary.MIN_SENTENCES <= len(picked) <= summary.MAX_SENTENCES
    assert picked == sorted(picked) and picked[0] < 10 and any(10 <= i < 20 for i in picked) and picked[-1] >= 20
    assert sum(len(texts[i].split()) for i in picked) <= summary.MAX_WORDS


def test_the_document_asked_about_holds_the_rare_words_of_the_question():
    docs = {"a": Document("a", "Repair cafes", "Repair cafes fix toasters. Volunteers fix bikes.", "a", ""),
            "b": Document("b", "Farming notes", "Farms grow beans. Farmers fix fences.", "b", "")}
    weight = {"repair": 2.0, "cafe": 2.0, "fix": 0.1}
    assert summary.document("the repair cafes", docs, ["b", "a"], weight).id == "a"
    assert summary.document("the history of Rome", docs, ["a"], {"histori": 2.0, "rome": 2.0}) is None


def test_the_pipeline_answers_a_summary_request_with_cited_sentences_of_that_document(config):
    pipe = Pipeline(config, FakeEmbedder(), log=lambda *_: None)
    a = pipe.answer("Summarize the document on solar lamps.")
    assert not a.abstained and a.citations and {c.doc_id for c in a.citations} == {"solar"}
    assert all(s.quoted for s in a.statements) and len(a.statements) >= 2
    assert "generate" not in a.timings


def test_a_misspelled_word_is_read_as_the_documents_and_the_answer_says_so(config):
    pipe = Pipeline(config, FakeEmbedder(), log=lambda *_: None)
    a = pipe.answer("Who repairs the solar lampps?")
    assert a.text.startswith('(Read "lampps" as "lamps".) ')


def test_a_name_ending_in_s_takes_an_apostrophe_alone():
    assert resolve("Who are its members?", [("What is Tamsvillers?", "")]) == "Who are Tamsvillers’ members?"
