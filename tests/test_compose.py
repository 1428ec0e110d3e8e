"""The answer first: short answers and yes/no read off the evidence (made-up sentences)."""

from __future__ import annotations

import re

from rag.answering.compose import answer_first, best_first, lead, yes_no
from rag.answering.evidence import Sentence
from rag.answering.question import read
from rag.types import Chunk, Hit


def spans(sentence: str, *entities: tuple[str, str]) -> list[tuple[int, int, str]]:
    return [(m.start(), m.end(), kind) for text, kind in entities for m in [re.search(re.escape(text), sentence)]]


def test_a_person_question_leads_with_the_name_nearest_its_words():
    s = "The museum opened in 1988; Odile Varnasse founded the cooperative, and Piet Laar ran its shop."
    tags = spans(s, ("1988", "date"), ("Odile Varnasse", "person"), ("Piet Laar", "person"))
    assert lead(read("Who founded the cooperative?"), s, tags) == "Odile Varnasse"
    assert lead(read("Who ran the shop?"), s, tags) == "Piet Laar"
    assert lead(read("When did the museum open?"), s, tags) == "1988"


def test_a_count_keeps_what_it_counts():
    s = "Tamsville traders sell their baskets in 40 towns and 9 countries."
    tags = spans(s, ("40", "number"), ("9", "number"), ("Tamsville", "place"))
    assert lead(read("In how many towns do Tamsville traders sell?"), s, tags) == "40 towns"
    assert lead(read("How many countries do the traders sell in?"), s, tags) == "9 countries"


def test_no_lead_when_the_question_already_names_the_entity_or_asks_for_no_kind():
    s = "Odile Varnasse wrote Quiet Wheels."
    tags = spans(s, ("Odile Varnasse", "person"))
    assert lead(read("Who is Odile Varnasse married to?"), s, tags) is None
    assert lead(read("What did Odile Varnasse write?"), s, tags) is None  # a "what" of no kind
    assert lead(read("Where was the book written?"), s, tags) is None  # no place in the sentence


def test_yes_no_follows_the_polarity_of_what_is_asked():
    assert yes_no(read("Does the report say repairing bikes requires a licence?"),
                  "Repairing bikes does not require a licence.") == "No"
    assert yes_no(read("Do towns and farms need to cooperate?"), "To grow, towns and farms need to cooperate.") == "Yes"
    assert yes_no(read("Are trade and autonomy mutually exclusive?"),
                  "Trade and autonomy are not mutually exclusive.") == "No"
    assert yes_no(read("Isn't the river polluted?"), "The river is polluted.") == "Yes"


def test_a_negation_outside_the_asked_words_or_clause_is_not_a_no():
    assert yes_no(read("Is the river polluted?"), "It is not surprising that the river is polluted.") == "Yes"


def test_no_yes_or_no_when_the_sentence_does_not_hold_what_is_asked():
    assert yes_no(read("Does the author like trains?"), "The author travels by bus.") is None
    assert yes_no(read("Who founded the cooperative?"), "Odile Varnasse founded the cooperative.") is None


def test_answer_first_puts_the_short_answer_before_the_quote():
    text = "The cooperative repairs bicycles. Odile Varnasse founded the cooperative in 1988."
    start = text.index("Odile")
    hit = Hit(Chunk("coop", 0, len(text), text), "Coop", 1.0, 0, 0.9)
    best = Sentence(1, start, len(text), text[start:], 0.9, "match")
    tags = [tuple((a + start, b + start, k) for a, b, k in spans(text[start:], ("Odile Varnasse", "person"),
                                                                 ("1988", "date")))]
    other = Sentence(1, 0, start - 1, text[:start - 1], 0.5, "also")
    a = answer_first(read("Who founded the cooperative?"), [(1, other), (1, best)], [hit], tags)
    assert [s.text for s in a.statements] == ["Odile Varnasse.", text[start:]]
    assert [s.quoted for s in a.statements] == [False, True]
    assert a.text == f"Odile Varnasse. [1] {text[start:]} [1]"
    assert a.citations[0].spans == ((start, len(text)),)
    assert answer_first(read("Does Odile Varnasse repair bicycles?"), [(1, best)], [hit], tags) is None
    weak = Sentence(1, start, len(text), text[start:], 0.1, "match")  # the ranker is unsure: quote alone
    assert answer_first(read("Who founded the cooperative?"), [(1, weak)], [hit], tags) is None


def test_a_best_sentence_that_only_restates_the_question_is_left_out():
    byline = Sentence(1, 40, 70, "— The Orvale Weaving Journal", 0.8, "match")
    said = Sentence(1, 0, 39, "A cloth is fair only if its weavers set the price.", 0.5, "previous")
    q = read("What is the Orvale Weaving Journal quoted for?")
    assert [s for _, s in best_first(q, [(1, said), (1, byline)])] == [said]
    told = Sentence(1, 40, 70, "The Orvale Weaving Journal pays its weavers twice a year.", 0.8, "match")
    assert [s for _, s in best_first(q, [(1, said), (1, told)])] == [told, said]  # it adds: it leads
    alone = [(1, byline)]
    assert best_first(q, alone) == alone  # nothing better to say: kept
    denial = Sentence(1, 0, 30, "Weaving is more than a craft.", 0.9, "match")
    aside = Sentence(1, 31, 60, "Looms hum in every village.", 0.4, "next")
    asked = read("Is weaving only a craft?")
    assert best_first(asked, [(1, denial), (1, aside)])[0][1] == denial  # a yes/no answer restates by nature


def test_the_source_a_question_names_is_not_what_it_asks():
    weights = {"pelgrave": 3.0, "harbour": 3.0, "close": 2.0, "winter": 2.0, "fisheri": 4.0, "bulletin": 4.0}
    asked = read("Should the harbour close in winter, according to the Pelgrave fisheries bulletin?")
    assert yes_no(asked, "The harbour should not close in winter.", weights) == "No"
    assert yes_no(read("Does the harbour close in winter, according to the bulletin?"),
                  "The harbour does close in winter.", weights) == "Yes"


def test_a_question_about_only_x_gets_no_yes_from_a_sentence_that_does_not_restrict():
    asked = read("Is weaving only a craft?")
    assert yes_no(asked, "Weaving is a craft and a trade.") is None  # it does not say it is nothing else
    assert yes_no(asked, "Weaving is only a craft.") == "Yes"
    assert yes_no(asked, "Weaving is not only a craft.") == "No"
