"""Misspelled question words are read as the documents' words, and only those (made-up text)."""

from __future__ import annotations

from rag.answering.spelling import Vocabulary, correct, notice

DOCS = ["Pelqurat is a cooperative in Tamsville that repairs bicycles for its neighbours.",
        "The Pelqurat workshop trains apprentices; its founder, Odile Varnasse, wrote Quiet Wheels.",
        "Cooperatives keep the value they create inside the town."]


def read(question: str):
    return correct(question, Vocabulary.of(DOCS))


def test_a_misspelled_name_is_read_as_the_documents_name():
    assert read("What is Pelquart?") == ("What is Pelqurat?", (("Pelquart", "Pelqurat"),))
    assert read("who founded pelquart's workshop")[0] == "who founded Pelqurat's workshop"
    assert read("What did Odile Varnase write?")[1] == (("Varnase", "Varnasse"),)


def test_a_misspelled_common_word_keeps_lower_case():
    assert read("What vaule do cooperatives create?") == ("What value do cooperatives create?",
                                                          (("vaule", "value"),))
    assert read("Where are the coperatives?")[1] == (("coperatives", "cooperatives"),)


def test_words_english_knows_or_far_from_everything_stay():
    for q in ["What is the GDP of France in 2019?", "How do I bake sourdough bread?",
              "Who won the World Cup?", "Was the bike rebranded?", "Couldn't they repair cars?",
              "What is Zorblax?"]:
        assert read(q) == (q, ()), q


def test_a_long_word_may_be_two_edits_away_a_short_one_only_one():
    assert read("Who trains aprentces?")[1] == (("aprentces", "apprentices"),)
    assert read("Is Tamsvlle far?")[1] == (("Tamsvlle", "Tamsville"),)
    assert read("What is Plqrt?")[1] == ()


def test_the_answer_says_what_was_read():
    assert notice((("Pelquart", "Pelqurat"),)) == '(Read "Pelquart" as "Pelqurat".) '
    assert notice((("a1", "b1"), ("a2", "b2"))) == '(Read "a1" as "b1", "a2" as "b2".) '
    assert notice(()) == ""
