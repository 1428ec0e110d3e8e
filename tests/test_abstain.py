import numpy as np

from rag.abstain import assess, refusal
from rag.config import Config
from rag.types import Chunk, Hit


def hit(text, score):
    return Hit(Chunk("d", 0, len(text), text), "Title", score, 0, score)


def judge(question, text, score, sentence_score=None):
    """Evidence for one passage whose single sentence is `text`."""
    return assess(question, [hit(text, score)], Config(), [(1, text)],
                  np.array([score if sentence_score is None else sentence_score]))


def test_off_topic_question_is_refused_and_says_what_is_missing():
    ev = judge("What was the GDP of France in 2019?", "Local farms sell food at markets.", 0.1)
    assert not ev.answerable and ev.coverage == 0 and ev.confidence < 0.2
    assert "france" in refusal(ev).lower() and "won't guess" in refusal(ev)


def test_well_matched_passage_is_answered():
    ev = judge("Who repairs the SoULS lamps?", "Local women repair the SoULS lamps.", 0.7)
    assert ev.answerable and ev.coverage == 1 and ev.sentence_coverage == 1 and ev.confidence > 0.6


def test_confidence_grows_with_each_kind_of_evidence():
    q = "Who repairs the SoULS lamps in Bihar?"
    low = judge(q, "Local women repair lamps.", 0.4)
    assert judge(q, "Local women repair lamps.", 0.6).confidence > low.confidence
    assert judge(q, "Local women repair the SoULS lamps in Bihar.", 0.4).confidence > low.confidence


def test_no_hits_or_no_content_words_abstain():
    assert not assess("Anything?", [], Config()).answerable
    assert not judge("What is it?", "It is what it is.", 0.9).answerable  # nothing to look for


def test_threshold_comes_from_the_config():
    ev = judge("Who repairs the SoULS lamps?", "Local women repair lamps.", 0.5)
    assert assess("Who repairs the SoULS lamps?", [hit("Local women repair lamps.", 0.5)],
                  Config().with_(min_confidence=ev.confidence + 0.01), [(1, "Local women repair lamps.")],
                  np.array([0.5])).answerable is False
