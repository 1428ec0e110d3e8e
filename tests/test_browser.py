"""The chat in a real headless browser: Debian's chromium driven by Playwright.

Starts `python -m ui` on a free loopback port with its own index and uploads folders (under
pytest's tmp_path), asks a question, waits for the streamed answer, follows a citation
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


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ui")
    with chat_server(tmp) as (url, _):
        yield url, tmp


@pytest.fixture(scope="module")
def page(server):
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(server[0])
        page.get_by_role("textbox").first.wait_for(timeout=60_000)
        yield page
        browser.close()


def ask(page, question: str, timeout: float = 180) -> tuple[str, float, float]:
    """Type the question, wait for the final answer; returns (its text, seconds to the first
    generated token shown, seconds to the final answer)."""
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
            if first is None and "▌" in text:  # the cursor follows generated text
                first = time.time() - t0
            if ("Sources" in text or "can't answer" in text or "⚠️" in text) and "▌" not in text:
                return text, first, time.time() - t0
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
    doc.write_text("# Repair Cafes In Lisbon\n\nThe Lisbon repair cafe network fixes broken toasters for free "
                   "every Saturday. Volunteers from the Alfama district run the Lisbon repair cafes.")
    page.get_by_role("button", name="Toggle Sidebar").click()  # the Documents sidebar
    page.get_by_text("Documents", exact=True).first.wait_for()
    page.locator("input[type='file']").first.set_input_files(str(doc))
    page.locator("#upload-status").get_by_text("added").wait_for(timeout=120_000)
    assert "Repair Cafes In Lisbon" in page.locator("#documents").inner_text()  # listed with its chunks
    page.screenshot(path=str(ARTIFACTS / "4-uploaded.png"), full_page=True)
    text, _, _ = ask(page, "What does the Lisbon repair cafe network fix?")
    assert "toaster" in text.lower() and "repair-cafes-" in text
    page.screenshot(path=str(ARTIFACTS / "5-answer-from-upload.png"), full_page=True)
    page.locator("#remove-choice input").first.click()
    page.get_by_role("option").filter(has_text="repair-cafes-").first.click()
    page.locator("#remove").click()
    page.locator("#upload-status").get_by_text("Removed").wait_for(timeout=120_000)
    assert "Repair Cafes In Lisbon" not in page.locator("#documents").inner_text()


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
