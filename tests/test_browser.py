"""The chat in a real headless browser: Debian's chromium driven by Playwright.

Starts `python -m ui` on a free loopback port with a key and its own index and uploads folders
(under pytest's tmp_path), logs in with the key, asks a question, waits for the streamed answer, follows a citation
marker to its source, uploads a document and asks about it, and asks an off-topic question.
Screenshots go to tests/artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import chat_server

pytestmark = [pytest.mark.browser, pytest.mark.integration]
ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
KEY = "browser-test-key-0123456789"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """Shared on the network as a user would share it: with a key, so the page asks for it."""
    tmp = tmp_path_factory.mktemp("ui")
    with chat_server(tmp, RAG_API_KEY=KEY) as (url, _):
        yield url, tmp


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def open_chat(browser, url: str, width: int, height: int, key: str = KEY):
    """A new browser window of that size, logged in with `key`, showing the chat."""
    page = browser.new_context(viewport={"width": width, "height": height}).new_page()
    page.goto(url)
    page.get_by_label("Key").fill(key)  # the page asks for the key first
    page.get_by_role("button", name="Open the chat").click()
    page.get_by_role("textbox").first.wait_for(timeout=60_000)
    return page


@pytest.fixture(scope="module")
def page(server, browser):
    return open_chat(browser, server[0], 1280, 800)


def ask(page, question: str, timeout: float = 180, frames: list | None = None) -> tuple[str, float, float]:
    """Type the question, wait for the final answer; returns (its text, seconds to the first
    sign of the answer being written, seconds to the final answer). `frames` collects every
    text the answer showed before the final one."""
    bots = page.locator(".message.bot, [data-testid='bot']")
    before = bots.count()
    box = page.get_by_role("textbox").first
    box.fill(question)
    t0 = time.time()
    box.press("Enter")
    first = None
    deadline = t0 + timeout
    while time.time() < deadline:
        if bots.count() > before:
            text = bots.last.inner_text()
            if first is None and "▌" in text:  # the cursor shows while the answer is written and checked
                first = time.time() - t0
            if ("Sources" in text or "can't answer" in text or "⚠️" in text) and "▌" not in text:
                return text, first if first is not None else time.time() - t0, time.time() - t0
            if frames is not None:
                frames.append(text)
        time.sleep(0.1)
    raise AssertionError(f"no final answer to {question!r} within {timeout} s")


def test_question_streams_an_answer_with_checkable_sources(page):
    page.screenshot(path=str(ARTIFACTS / "1-empty-chat.png"))
    assert "What is SoULS?" in page.content()  # example questions on the empty chat
    ask(page, "What is Haqdarshak?")  # the first question also waits for the models to load
    text, first, total = ask(page, "What is SoULS?")
    print(f"\nfirst token shown after {first:.1f} s, final answer after {total:.1f} s")
    assert re.search(r"\[1\]", text) and "Sources" in text and "001_931c122cd22fbef4" in text
    bot = page.locator(".message.bot, [data-testid='bot']").last
    assert bot.locator("mark").count() >= 1  # the supporting sentence is highlighted
    link = bot.locator("a[href^='#src-']").first
    target = link.get_attribute("href")[1:]
    page.mouse.wheel(0, -10_000)
    link.click()
    expect(page.locator(f"[id='{target}']")).to_be_in_viewport()  # the marker brings its source into view
    page.screenshot(path=str(ARTIFACTS / "2-answer-with-sources.png"), full_page=True)
    follow, _, _ = ask(page, "Who are its beneficiaries?")  # the chat history goes with the follow-up
    assert "001_931c122cd22fbef4" in follow


def test_the_unchecked_draft_never_stands_as_the_answer(page):
    frames: list[str] = []
    text, _, _ = ask(page, "What is relocalization?", frames=frames)  # a definition: the generator writes a draft
    final = " ".join(text.replace("“", "").replace("”", "").split())
    for frame in frames:  # while it is written: the notice, or sentences that passed the check; the draft collapsed
        if frame.startswith(("Writing the answer and checking it", "Loading")):
            continue
        head, _, rest = frame.partition("▌")
        assert rest.lstrip().startswith("Checking the rest"), frame
        for sentence in re.split(r"\[\d+\]", head):  # each one stands in the final answer
            assert " ".join(sentence.split()) in final, frame
    assert "Sources" in text and "Unchecked draft" not in text


def test_a_quoted_answer_is_shown_as_a_quote(page):
    text, _, _ = ask(page, "What do the artisans working with Mata Traders make?")
    bot = page.locator(".message.bot, [data-testid='bot']").last
    if "Quoted word for word" in text:  # the generator's words did not carry the evidence: quoted
        quote = bot.locator("blockquote").first.inner_text()
        assert quote.startswith("“") and "apparel" in quote and "[1]" in quote
    else:  # or it phrased it, checked
        assert "apparel" in text and "[1]" in text
    assert "001_931c122cd22fbef4" in text
    page.screenshot(path=str(ARTIFACTS / "7-quoted-answer.png"), full_page=True)


def test_off_topic_question_is_refused_with_the_closest_passages(page):
    text, _, _ = ask(page, "What was the GDP of France in 2019?")
    assert "can't answer" in text and "not sufficient" in text
    page.screenshot(path=str(ARTIFACTS / "3-refusal.png"), full_page=True)


def test_uploaded_document_is_searchable(page, server, tmp_path):
    doc = tmp_path / "repair-cafes.md"
    log = "\n\n".join(f"Repair log entry {i}: a {kind} came in on week {i % 52 + 1} with a {fault}; "
                       f"volunteer number {i * 7 % 97} replaced the {part} and tested it for {i % 9 + 2} minutes."
                       for i, (kind, fault, part) in enumerate(
                           [("kettle", "loose wire", "switch"), ("radio", "dead speaker", "cone"),
                            ("lamp", "cracked socket", "socket"), ("fan", "bent blade", "blade")] * 60))
    doc.write_text("# Repair Cafes In Lisbon\n\nThe Lisbon repair cafe network fixes broken toasters for free "
                   "every Saturday. Volunteers from the Alfama district run the Lisbon repair cafes.\n\n" + log)
    page.get_by_role("button", name="Toggle Sidebar").click()  # the Documents sidebar
    page.get_by_text("Documents", exact=True).first.wait_for()
    page.locator("input[type='file']").first.set_input_files(str(doc))
    page.get_by_text(re.compile(r"Embedding: \d+/\d+ passages")).first.wait_for(timeout=60_000)  # its progress bar
    page.screenshot(path=str(ARTIFACTS / "4-upload-progress.png"))
    page.locator("#upload-status").get_by_text("Added").wait_for(timeout=120_000)
    assert "Repair Cafes In Lisbon" in page.locator("#documents").inner_text()  # listed with its chunks
    page.screenshot(path=str(ARTIFACTS / "4-uploaded.png"))
    text, _, _ = ask(page, "What does the Lisbon repair cafe network fix?")
    assert "toaster" in text.lower() and "repair-cafes-" in text
    page.screenshot(path=str(ARTIFACTS / "5-answer-from-upload.png"), full_page=True)
    page.locator("#remove-choice input").first.click()
    page.get_by_role("option").filter(has_text="repair-cafes-").first.click()
    page.locator("#remove").click()
    page.locator("#upload-status").get_by_text("Removed").wait_for(timeout=120_000)
    assert "Repair Cafes In Lisbon" not in page.locator("#documents").inner_text()


def test_a_scanned_pdf_is_read_with_a_progress_bar_and_cited_by_page(page, server, tmp_path):
    from tools.ocr_check import scanned_pdf

    scan = tmp_path / "harbour-scan.pdf"
    scanned_pdf(scan, ["Harbour Town Notes\n\nThe harbour museum in Kestrel Bay shows old fishing boats and nets.",
                       "Weavers in Marrow Hill dye their wool with walnut husks gathered every autumn."])
    page.locator("input[type='file']").first.set_input_files(str(scan))
    page.get_by_text(re.compile(r"Reading the scanned pages of harbour-scan.pdf \(OCR\)")).first.wait_for(
        timeout=60_000)  # the recognition is the slow part: the bar covers it
    page.locator("#upload-status").get_by_text("Added").wait_for(timeout=180_000)
    text, _, _ = ask(page, "What do weavers in Marrow Hill dye their wool with?")
    assert "walnut" in text.lower() and "p. 2" in text
    link = page.locator(".message.bot, [data-testid='bot']").last.get_by_role("link", name="p. 2").first
    href = link.get_attribute("href")
    assert re.fullmatch(r"/files/harbour-scan-[0-9a-f]{8}#page=2", href), href
    pdf = page.request.get(server[0].rstrip("/") + href.split("#")[0])  # with the session, as the link opens it
    assert pdf.status == 200 and pdf.headers["content-type"] == "application/pdf"
    page.screenshot(path=str(ARTIFACTS / "5b-scanned-pdf-cited-by-page.png"), full_page=True)
    page.locator("#remove-choice input").first.click()
    page.get_by_role("option").filter(has_text="harbour-scan-").first.click()
    page.locator("#remove").click()
    page.locator("#upload-status").get_by_text("Removed").wait_for(timeout=120_000)


def test_bad_uploads_get_readable_messages_and_the_chat_keeps_serving(page, tmp_path):
    fake = tmp_path / "report.pdf"
    fake.write_bytes(b"<html>not a pdf</html>")
    page.locator("input[type='file']").first.set_input_files(str(fake))
    expect(page.locator("#upload-status")).to_contain_text("report.pdf", timeout=60_000)
    assert "PDF" in page.locator("#upload-status").inner_text()
    big = tmp_path / "huge.txt"
    big.write_bytes(b"words " * (2 * 1024 * 1024))  # 12 MB, over the 10 MB limit
    page.locator("input[type='file']").first.set_input_files(str(big))
    expect(page.get_by_text("exceed the maximum allowed size").first).to_be_visible(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "6-bad-uploads.png"), full_page=True)
    text, _, _ = ask(page, "What is SoULS?")  # still serving
    assert "Sources" in text


def test_the_page_asks_for_the_key_and_refuses_a_wrong_one(browser, server):
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(server[0])
    assert page.url.endswith("/login")
    page.get_by_label("Key").fill("not-the-key")
    page.get_by_role("button", name="Open the chat").click()
    expect(page.get_by_text("That is not the key.")).to_be_visible(timeout=10_000)
    assert page.get_by_role("textbox", name="Type a message...").count() == 0
    page.context.close()


def sidebar(view, open_: bool) -> None:
    """Open or close the Documents sidebar (closed, it sits off screen to the right)."""
    width = view.viewport_size["width"]
    box = view.locator("#documents").bounding_box()
    if (box is not None and box["x"] < width) != open_:
        view.get_by_role("button", name="Toggle Sidebar").click()
        view.wait_for_timeout(600)  # its slide


@pytest.mark.parametrize("width, height, name", [(1280, 800, "laptop"), (390, 844, "phone")])
def test_the_chat_fills_the_window_and_the_documents_are_readable(browser, server, page, width, height, name):
    view = page if width == 1280 else open_chat(browser, server[0], width, height)
    if view is not page:
        ask(view, "What is SoULS?")
    sidebar(view, False)
    conversation = view.locator("#conversation").bounding_box()
    assert conversation["height"] >= 0.55 * height, conversation  # not a short box inside the page
    assert conversation["y"] <= height / 3, conversation  # the conversation starts in the first third
    title = view.locator("#title h1")
    size = float(title.evaluate("e => parseFloat(getComputedStyle(e).fontSize)"))
    assert title.bounding_box()["height"] <= 1.6 * size  # one line
    assert title.evaluate("e => e.scrollWidth <= e.clientWidth")  # one line, nothing cut off
    assert ("ask the documents" in title.inner_text()) == (width > 640)  # the phone's title is the shorter one
    box = view.get_by_role("textbox").first.bounding_box()
    assert box["y"] + box["height"] <= height  # the question box stays on screen
    view.screenshot(path=str(ARTIFACTS / f"8-chat-{name}.png"))
    sidebar(view, True)
    docs = view.locator("#documents")
    expect(docs.get_by_text("Globalization vs Localization: Finding the Balance")).to_be_in_viewport()
    for title in docs.locator("strong").all():  # every title whole on the screen, none cut off at the side
        b = title.bounding_box()
        assert b["x"] >= 0 and b["x"] + b["width"] <= width + 1, b
    assert docs.get_by_text(re.compile(r"\d+ passages · seed")).count() == 5
    view.screenshot(path=str(ARTIFACTS / f"9-documents-{name}.png"))
    sidebar(view, False)
