import re

import numpy as np

from rag.answering import check as cite
from rag.answering.question import read
from rag.types import Chunk, Hit
from tests.conftest import FakeEmbedder

PASSAGES = [
    "The SoULS project assembles solar lamps locally in rural Bihar. Local women repair the lamps.",
    "Globalization moves goods and capital across borders. Critics say it hollows out factory towns.",
    "Local farms sell vegetables at weekly markets.",
]


def hits():
    return [Hit(Chunk(f"doc{i}", 10 * i, 10 * i + len(p), p), f"Title {i}", 0.5 - i / 10, i, 0.5)
            for i, p in enumerate(PASSAGES)]


def check(answer: str, question: str = ""):
    e = FakeEmbedder()
    parts = cite.sentences(answer)
    return cite.attach(parts, hits(), e.encode(parts) if parts else np.zeros((0, 64)),
                       e.encode(PASSAGES), read(question) if question else None)


def test_citations_numbered_in_order_of_first_use_and_unused_not_listed():
    out = check("Critics say globalization hollows out factory towns. "
                "The SoULS project assembles solar lamps locally in Bihar. "
                "Globalization moves goods and capital across borders.")
    assert out.text.count("[1]") == 2 and out.text.count("[2]") == 1
    assert [(c.n, c.doc_id) for c in out.citations] == [(1, "doc1"), (2, "doc0")]
    markers = {int(m) for m in re.findall(r"\[(\d+)\]", out.text)}
    assert markers == {c.n for c in out.citations}
    c = out.citations[0]
    assert (c.quote, c.start, c.end, c.title) == (PASSAGES[1], 10, 10 + len(PASSAGES[1]), "Title 1")


def test_wrong_model_markers_are_replaced():
    out = check("Local farms sell vegetables at weekly markets [1].")
    assert out.text == "Local farms sell vegetables at weekly markets. [1]"
    assert out.citations[0].doc_id == "doc2"


def test_invented_number_and_name_are_dropped_with_the_reason():
    out = check("The SoULS project assembles 5000 solar lamps locally in Bihar. "
                "Local women repair the lamps in Mumbai.")
    assert out.citations == []
    assert [d.reason for d in out.dropped] == ["states 5000, which the passages do not",
                                               "states mumbai, which the passages do not"]


def test_unsupported_and_meta_sentences_are_dropped():
    out = check("The moon is made of green cheese and tastes wonderful. "
                "The passages do not mention the moon. "
                "Local farms is discussed, but it does not provide a clear answer. "
                "Local farms sell vegetables at weekly markets.")
    assert out.text == "Local farms sell vegetables at weekly markets. [1]"
    assert len(out.dropped) == 3


def test_subject_swapped_from_the_question_is_caught():
    out = check("Glocalization moves goods and capital across borders.", "What is glocalization?")
    assert out.citations == [] and out.dropped[0].reason


def test_repeated_sentences_count_once():
    assert cite.sentences("Farms sell food. Farms sell food! 1. Farms sell food.") == ["Farms sell food."]


def test_a_lone_word_is_not_an_answer():
    out = check("Globalization. Local farms sell vegetables at weekly markets.")
    assert out.text == "Local farms sell vegetables at weekly markets. [1]"
    assert [d.sentence for d in out.dropped] == ["Globalization."]


def test_a_short_answer_is_checked_against_the_question():
    q = "Where are the SoULS solar lamps assembled?"
    out = check("Bihar.", q)
    assert out.text == "Bihar. [1]" and out.citations[0].doc_id == "doc0" and out.citations[0].supported
    assert check("Mumbai.", q).citations == []
    assert check("Bihar.", "What do critics say about globalization?").citations == []  # not what was asked


def test_the_question_restated_in_other_words_is_its_premise():
    q = "Who mends the village lamps of the SoULS project?"  # "mends", "village": not in the passage
    assert check("Local women mend the village lamps.", q).citations
    # a passage about something else does not become evidence by restating the question
    assert not check("Glocalization moves goods and capital across borders.", "What is glocalization?").citations


def test_answer_preambles_are_removed():
    assert cite.sentences("The answer to this question is: Colin Hines. He wrote it in 2000.") == [
        "Colin Hines.", "He wrote it in 2000."]
    assert cite.sentences("The answer is: Rollo.") == ["Rollo."]


def test_copy_bias_follows_the_longest_copied_run():
    from rag.models.generate import continuations, follow_table

    prompt = follow_table([1, 2, 3, 4, 2, 3, 5, 7, 3, 8])
    assert continuations(prompt, [9, 2, 3]) == {4, 5}  # "2 3" occurs twice
    assert continuations(prompt, [7, 3]) == {8}  # the longer run decides
    assert continuations(prompt, [6]) == set()


def test_drafts_continue_the_prompt_after_the_answers_last_tokens():
    from rag.models.generate import draft, lookup_table

    table = lookup_table([1, 2, 3, 4, 5, 2, 3, 6, 7], k=3)
    assert draft(table, [9, 2, 3], 3) == [6, 7]  # the last occurrence of "2 3"
    assert draft(table, [9, 1, 2], 2) == [3, 4]
    assert draft(table, [1, 2, 3], 3) == [4, 5, 2]  # 3 tokens found: as far as k
    assert draft(table, [9, 4], 3) == [5]  # a single shared token: one guess
    assert draft(table, [8, 9], 3) == []
