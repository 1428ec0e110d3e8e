from rag.abstain import assess, refusal
from rag.config import Config
from rag.types import Chunk, Hit


def hit(text, score):
    return Hit(Chunk("d", 0, len(text), text), "Title", score, 0, score)


def test_low_score_and_missing_terms_abstain():
    ev = assess("What was the GDP of France in 2019?", [hit("Local farms sell food.", 0.2)], Config())
    assert not ev.answerable and ev.coverage == 0
    assert "france" in refusal(ev).lower() and "won't guess" in refusal(ev)


def test_covered_question_with_modest_score_is_answered():
    ev = assess("What is SoULS?", [hit("SoULS is an initiative of IIT Bombay.", 0.35)], Config())
    assert ev.answerable and ev.coverage == 1


def test_high_score_is_answered_even_without_shared_words():
    assert assess("How are towns hurt?", [hit("Factories closed.", 0.7)], Config()).answerable


def test_score_threshold_applies_even_with_full_coverage():
    assert not assess("What is trade?", [hit("trade", 0.1)], Config()).answerable


def test_no_hits_abstains():
    assert not assess("Anything?", [], Config()).answerable
