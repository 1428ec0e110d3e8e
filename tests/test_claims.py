"""The claim check: what a number counts, who does what to whom, and what is denied
(made-up sentences; and the seed part of tools/mutations.py)."""

from __future__ import annotations

import sys

import pytest
from conftest import ROOT

from rag.answering import check, claims
from rag.models.parse import SpacyParser

PASSAGE = ("Pelqurat is a cooperative based in Tamsville. They sell their baskets in 40 towns and 9 countries. "
           "Odile Varnasse founded the cooperative in 1988, and Piet Laar ran its shop. "
           "Repair does not require a licence. Trade and autonomy are not mutually exclusive.")


@pytest.fixture(scope="module")
def parser():
    return SpacyParser()


@pytest.fixture(scope="module")
def holds(parser):
    contradiction = claims.checker(parser)
    return lambda sentence: check.unsupported(sentence, PASSAGE, None, contradiction)


@pytest.mark.parametrize("sentence", [
    "Pelqurat sells its baskets in 40 countries.",  # the number counts something else
    "Pelqurat sells its baskets in 9 towns.",
    "The cooperative founded Odile Varnasse.",  # subject and object swapped
    "Piet Laar founded the cooperative in 1988.",  # a name in another's place
    "Odile Varnasse ran its shop.",
    "Repair requires a licence.",  # a negation removed
    "Trade and autonomy are mutually exclusive.",
    "Piet Laar did not run its shop.",  # a negation added
])
def test_a_sentence_whose_claims_the_passage_does_not_hold_is_dropped(holds, sentence):
    assert holds(sentence) is not None


@pytest.mark.parametrize("sentence", [
    "Pelqurat sells its baskets in 40 towns.",
    "They sell their baskets in 9 countries.",
    "The cooperative was founded by Odile Varnasse.",  # the passive says the same
    "In 1988, Odile Varnasse founded the cooperative.",
    "Repair does not require a licence.",
    "Piet Laar ran its shop.",
])
def test_a_faithful_sentence_is_kept(holds, sentence):
    assert holds(sentence) is None


def test_the_reason_says_what_is_wrong(holds):
    assert "counts 40" in holds("Pelqurat sells its baskets in 40 countries.")
    assert "affirms" in holds("Repair requires a licence.")


def test_a_negation_without_a_verb_above_it_is_judged(holds, parser):
    """A negation in a sentence with no verb (its root is a noun) once walked up the parse forever."""
    assert holds("Not the farmers, but the traders.") == "no passage says this"  # words the passage lacks
    assert holds("No licence at all.") is None
    assert dict(claims.polarity(parser.parse("No licence at all."))) == {"licence": {True}}
    assert dict(claims.polarity(parser.parse("Not the farmers, but the traders."))) == {}  # no verb to deny


def test_mutations_of_the_seed_corpus_are_dropped_and_faithful_forms_kept():
    """The seed part of tools/mutations.py: at least 95% of mutated sentences dropped and of
    faithful ones kept (the full run over squad2-fit as well is in docs/quality.md)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import mutations

    result = mutations.measure(paragraphs=0, show=0, log=lambda *_: None)
    for group, bar in (("mutated", 0.95), ("faithful", 0.05)):
        made = sum(n["made"] for k, n in result.items() if k.startswith(group))
        dropped = sum(n["dropped"] for k, n in result.items() if k.startswith(group))
        assert made >= 150
        assert (dropped / made >= bar) if group == "mutated" else (dropped / made <= bar), (group, result)
