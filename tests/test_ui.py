import re

from rag.types import Answer, Citation, Removed, Statement
from ui.app import render
from ui.schema import pairs as _pairs


def test_document_text_is_shown_as_text():
    quote = "<script>alert(1)</script> **bold** [link](http://x) # heading"
    a = Answer("Local farms sell food. [1]", [Citation(1, "d1", "<b>Title</b>", quote, 0, 10, 0.5)], False,
               {"retrieve": 0.01, "generate": 1.0, "total": 1.2})
    md = render(a)
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "\\*\\*bold\\*\\*" in md and "\\[link\\]\\(http://x\\)" in md and "<b>" not in md
    assert "**Sources**" in md and "`d1`" in md and "characters 0–10" in md
    assert "retrieve 0.0 s" in md and "total 1.2 s" in md


def test_abstention_shows_the_closest_passages_as_insufficient():
    closest = Citation(1, "d2", "Farms", "Local farms sell food", 0, 20, 0.1, supported=False)
    md = render(Answer("I can't answer that from the documents.", [closest], True, {}))
    assert "not sufficient" in md and "Local farms sell food" in md and "**Sources**" not in md


def test_removed_sentences_are_listed_with_their_reason():
    a = Answer("Local farms sell food. [1]", [Citation(1, "d1", "Farms", "Local farms sell food", 0, 9, 0.5)],
               False, {}, dropped=[Removed("Farms sell 42 <b>tons</b>.", "states 42, which the passages do not")])
    md = render(a)
    assert "Removed by the citation check" in md and "states 42" in md and "<b>" not in md


def test_history_pairs_from_openai_style_messages():
    history = [{"role": "user", "content": "What is SoULS?"},
               {"role": "assistant", "content": [{"type": "text", "text": "An initiative. [1]"}]},
               {"role": "user", "content": "Who benefits?"}]
    assert _pairs(history) == [("What is SoULS?", "An initiative. [1]")]


def test_markers_link_to_their_source_and_the_supporting_sentence_is_marked():
    quote = "Farms sell food. Markets open <at> dawn. Prices vary."
    a = Answer("Markets open at dawn. [1]", [Citation(1, "d1", "Farms", quote, 0, len(quote), 0.5, spans=((17, 40),))],
               False, {})
    md = render(a)
    anchor = re.search(r"\(#(src-[0-9a-f]+-1)\)", md)
    assert anchor and f'id="{anchor[1]}"' in md
    assert "<mark>Markets open &lt;at&gt; dawn.</mark>" in md and "Prices vary." in md


def test_failures_become_readable_messages_and_the_chat_keeps_serving(monkeypatch):
    import rag
    from ui import app

    def broken(*_):
        raise RuntimeError("boom")
        yield

    monkeypatch.setattr(rag, "stream_answer", broken)
    assert list(app.chat("What is SoULS?", []))[-1].startswith("⚠️ Something went wrong")

    def empty(*_):
        raise rag.QuestionError("the question is empty: type a question about the documents")
        yield

    monkeypatch.setattr(rag, "stream_answer", empty)
    assert "the question is empty" in list(app.chat("  ", []))[-1]


def test_chat_says_it_is_loading_until_the_models_are_ready(monkeypatch):
    import rag
    from ui import app

    def fake(*_):
        yield "Hello"

    monkeypatch.setattr(rag, "stream_answer", fake)
    monkeypatch.setattr(app, "READY", app.threading.Event())
    assert list(app.chat("What is SoULS?", []))[0].startswith("*Loading")
    app.READY.set()
    assert not list(app.chat("What is SoULS?", []))[0].startswith("*Loading")


def test_a_fast_stream_is_redrawn_at_most_ten_times_a_second_and_ends_with_the_whole_answer(monkeypatch):
    import rag
    from ui import app

    final = Answer("Local farms sell food.", [], False, {})

    def fast(*_):
        yield from ["tok "] * 200  # far faster than 10 a second
        yield final

    monkeypatch.setattr(rag, "stream_answer", fast)
    monkeypatch.setattr(app, "READY", app.threading.Event())
    app.READY.set()
    shown = list(app.chat("What is SoULS?", []))
    assert 1 <= len(shown) - 1 <= 2  # the first piece is drawn at once; the rest waits for the next redraw
    assert shown[-1] == render(final)


def test_a_quoted_answer_is_shown_as_a_quote():
    quote = "Mata works with 1000 artisans. They make *apparel* and jewelry."
    st = [Statement("They make *apparel* and jewelry.", 1, quoted=True)]
    a = Answer("They make *apparel* and jewelry. [1]", [Citation(1, "d1", "Mata", quote, 0, len(quote), 0.5,
                                                                  spans=((31, 63),))], False, {}, statements=st)
    md = render(a)
    assert md.startswith("> “They make \\*apparel\\* and jewelry.” [\\[1\\]](#src-")
    assert "Quoted word for word" in md
    generated = Answer("They make apparel. [1]", a.citations, False, {},
                       statements=[Statement("They make apparel.", 1, quoted=False)])
    assert not render(generated).startswith(">") and "Quoted word" not in render(generated)


def test_a_pdf_citation_gives_its_page_linked_to_the_pdf_opened_there():
    a = Answer("Ferries leave at noon. [1]", [Citation(1, "guide", "Guide", "Ferries leave at noon.", 40, 62, 0.5,
                                                       page=3)], False, {})
    md = render(a)
    assert '<a href="/files/guide#page=3" target="_blank" rel="noopener">p. 3</a>' in md and "characters 40–62" in md
    assert "p. " not in render(Answer("Farms. [1]", [Citation(1, "d1", "Farms", "Farms.", 0, 6, 0.5)], False, {}))


def test_checked_sentences_show_as_they_pass_and_the_draft_only_collapsed(monkeypatch):
    import rag
    from ui import app

    final = Answer("Farms sell *food*. [1] Markets open at dawn. [1]", [], False, {})

    def stream(*_):
        yield rag.Retrieved([], 0.9, True)
        yield "Farms sell *food*. Markets "
        yield rag.Verified("Farms sell *food*. [1]")
        yield "open at dawn, made up."
        yield rag.Verified(" Markets open at dawn. [1]")
        yield final

    monkeypatch.setattr(rag, "stream_answer", stream)
    monkeypatch.setattr(app, "READY", app.threading.Event())
    app.READY.set()
    shown = list(app.chat("When do markets open?", []))
    checked = [f for f in shown[:-1] if f.startswith("Farms")]
    assert checked[0].startswith("Farms sell \\*food\\*. \\[1\\] ▌")  # as text, the moment it passed
    assert checked[-1].startswith("Farms sell \\*food\\*. \\[1\\] Markets open at dawn. \\[1\\] ▌")
    for frame in shown[:-1]:  # the draft only inside the collapsed, labelled block
        head = frame.split("<details>")[0]
        assert "made up" not in head and "Markets " not in head.replace("Markets open at dawn.", "")
    assert shown[-1] == render(final)
